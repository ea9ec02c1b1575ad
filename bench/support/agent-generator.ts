/**
 * A deterministic catalog of made-up agents for search benchmarks: the same seed gives the same
 * agents, with names, sub-headings, descriptions and categories drawn from a realistic vocabulary,
 * so that trigram and full-text indexes see text like the shipped catalog's.
 */
import type { Agent } from '../../src/store/agents-repository.js';

const SUBJECTS = [
  'invoice', 'budget', 'resume', 'email', 'meeting', 'podcast', 'youtube', 'recipe', 'workout', 'travel', 'lead', 'contract',
  'newsletter', 'tweet', 'blog', 'seo', 'keyword', 'customer', 'support', 'sales', 'crypto', 'stock', 'tax', 'expense', 'hiring',
  'interview', 'onboarding', 'calendar', 'note', 'research', 'paper', 'citation', 'translation', 'grammar', 'essay', 'lesson',
  'quiz', 'flashcard', 'garden', 'pet', 'fitness', 'diet', 'sleep', 'mood', 'habit', 'goal', 'project', 'sprint', 'bug', 'code',
  'test', 'deployment', 'database', 'api', 'dashboard', 'report', 'survey', 'feedback', 'review', 'product', 'pricing', 'inventory',
  'shipping', 'dropshipping', 'affiliate', 'income', 'money', 'savings', 'mortgage', 'rent', 'real-estate', 'event', 'wedding',
  'gift', 'music', 'playlist', 'video', 'thumbnail', 'logo', 'brand', 'slide', 'pitch', 'grant', 'legal', 'privacy', 'security',
];
const ROLES = [
  'writer', 'planner', 'tracker', 'finder', 'assistant', 'coach', 'analyzer', 'generator', 'optimizer', 'summarizer', 'scheduler',
  'chaser', 'builder', 'checker', 'advisor', 'scout', 'helper', 'organizer', 'editor', 'monitor', 'forecaster', 'designer',
];
const ADJECTIVES = ['smart', 'quick', 'daily', 'pro', 'easy', 'auto', 'super', 'simple', 'clever', 'instant', 'friendly', 'focused'];
const VERBS = ['drafts', 'plans', 'tracks', 'finds', 'summarises', 'schedules', 'checks', 'builds', 'reviews', 'organises', 'monitors', 'designs'];
const OBJECTS = [
  'weekly reports', 'client emails', 'social posts', 'meal plans', 'study notes', 'sales leads', 'job applications', 'product listings',
  'support tickets', 'team updates', 'market trends', 'investment ideas', 'marketing campaigns', 'travel itineraries', 'code reviews',
];
const CATEGORIES = ['productivity', 'finance', 'marketing', 'writing', 'education', 'health', 'developer', 'sales', 'personal', 'income', 'design', 'research'];
const CREATORS = ['acme-labs', 'brightside', 'nichehunter', 'wealthwise', 'cashflow-labs', 'studio-nine', 'openhands', 'tinybots', 'deepwork', 'makerspace'];

/** mulberry32: a small, fast, seedable PRNG. */
function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const title = (word: string) => word.replace(/(^|-)(\w)/g, (_, dash: string, letter: string) => `${dash ? ' ' : ''}${letter.toUpperCase()}`);

/** Agents number `from` (inclusive) to `to` (exclusive) of the deterministic catalog. */
export function generateAgents(from: number, to: number, seed = 42): Agent[] {
  const agents: Agent[] = [];
  for (let index = from; index < to; index++) {
    const next = random(seed * 1_000_003 + index);
    const pick = <T>(list: readonly T[]) => list[Math.floor(next() * list.length)]!;
    const subject = pick(SUBJECTS);
    const role = pick(ROLES);
    const adjective = pick(ADJECTIVES);
    const other = pick(SUBJECTS);
    const name = `${title(adjective)} ${title(subject)} ${title(role)}`;
    const categories = [...new Set([pick(CATEGORIES), pick(CATEGORIES)])];
    agents.push({
      slug: `${adjective}-${subject}-${role}-${index}`.replace(/[^a-z0-9-]/g, '-'),
      name,
      subHeading: `${title(adjective)} help with your ${subject} and ${other} work`,
      description:
        `${name} ${pick(VERBS)} ${pick(OBJECTS)} for you. Tell it about your ${subject} and it ${pick(VERBS)} ${pick(OBJECTS)}, ` +
        `then ${pick(VERBS)} ${pick(OBJECTS)} so you can focus on ${other}. Works with the tools you already use and explains every step.`,
      creator: pick(CREATORS),
      categories,
      runs: Math.floor(next() ** 3 * 500_000),
      rating: Math.round((3 + next() * 2) * 10) / 10,
    });
  }
  return agents;
}
