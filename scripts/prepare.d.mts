/** Types of scripts/prepare.mjs, for the tests that use it. */
export function inputsHash(root?: string): string;
export function builtFromInputs(root?: string): boolean;
