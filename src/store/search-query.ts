/**
 * What a search query may be, and how it is read. A search costs work per distinct word (each is
 * spell-corrected against the store's vocabulary and looked up on its own), so a query is bounded in
 * characters and in words; a longer one is refused with a sentence rather than searched in part.
 */
import { z } from 'zod';

export const MAX_QUERY_CHARS = 500;
export const MAX_QUERY_WORDS = 16;

/** Lower case, accents off, anything but letters and digits as single spaces. */
export function normalise(text: string): string {
  return text
    .normalize('NFKD')
    .replace(/\p{M}/gu, '')
    .toLowerCase()
    .replace(/[^\p{L}\p{N}]+/gu, ' ')
    .trim();
}

/** The distinct words of a query, in order, as the search reads them. */
export function queryWords(text: string): string[] {
  const normalised = normalise(text);
  return normalised ? [...new Set(normalised.split(' '))] : [];
}

/** A search query: at most MAX_QUERY_CHARS characters and MAX_QUERY_WORDS distinct words. */
export const searchQueryText = () =>
  z
    .string()
    .max(MAX_QUERY_CHARS, `a search may be at most ${MAX_QUERY_CHARS} characters long`)
    .refine((text) => queryWords(text).length <= MAX_QUERY_WORDS, `a search may have at most ${MAX_QUERY_WORDS} different words`);
