// The one-click prompts of an empty conversation. Each asks for agents, so the offline demo model
// answers each with a store search (test/demo-model.test.ts checks that it does).
export const welcomeSuggestions = [
  'Find me an agent that writes SEO blog posts',
  'Which agents can help with lead generation?',
  'I need something to triage my support inbox',
  'Show me agents for turning YouTube videos into summaries',
];
