/** Message metadata (e.g. the token usage of an answer), stored beside its parts and sealed alike. */
export const messageMetadata = /* sql */ `
ALTER TABLE chat_messages ADD COLUMN metadata text;
`;
