/**
 * A deterministic generator of realistic-looking store agents, for scale tests and benchmarks: names,
 * categories, sub-headings and descriptions built from word lists that overlap the shipped catalog's
 * vocabulary (money, income, printing, marketing, agent…), so a big store is full of near misses for
 * the searches people make. The same seed and index always give the same agent.
 */
import type { Agent } from '../../src/store/agents-repository.js';

type Topic = { name: string; category: string; objects: string[] };

const TOPICS: Topic[] = [
  ...topics(
    'finance',
    ['reports', 'statements', 'accounts', 'spending'],
    [
      'Budget',
      'Expense',
      'Invoice',
      'Payroll',
      'Tax',
      'Savings',
      'Retirement',
      'Loan',
      'Mortgage',
      'Dividend',
      'Stock',
      'Portfolio',
      'Money',
      'Cash Flow',
      'Bookkeeping',
      'Receipt',
      'Credit Score',
      'Debt',
    ],
  ),
  ...topics(
    'income',
    ['side hustles', 'revenue streams', 'earnings', 'passive income'],
    ['Income', 'Side Hustle', 'Revenue', 'Profit', 'Royalty', 'Freelance Rate', 'Print Shop', 'Printing'],
  ),
  ...topics(
    'marketing',
    ['campaigns', 'audiences', 'funnels', 'ads'],
    [
      'Ad',
      'Campaign',
      'Brand',
      'Email',
      'Newsletter',
      'Keyword',
      'Landing Page',
      'Influencer',
      'Affiliate',
      'Growth',
      'Funnel',
      'Promo',
      'Marketing',
    ],
  ),
  ...topics(
    'social-media',
    ['posts', 'followers', 'hashtags', 'reels'],
    ['Instagram', 'TikTok', 'LinkedIn', 'Twitter', 'YouTube', 'Pinterest', 'Reddit', 'Threads', 'Hashtag'],
  ),
  ...topics(
    'writing',
    ['drafts', 'articles', 'chapters', 'copy'],
    ['Blog', 'Essay', 'Story', 'Poem', 'Headline', 'Caption', 'Script', 'Press Release', 'Ebook', 'Speech', 'Copy'],
  ),
  ...topics(
    'developer-tools',
    ['repositories', 'pull requests', 'builds', 'services'],
    ['Code', 'API', 'SQL', 'Regex', 'Docker', 'Kubernetes', 'Git', 'Unit Test', 'Bug', 'Log', 'Terraform', 'Python', 'TypeScript'],
  ),
  ...topics(
    'data',
    ['spreadsheets', 'datasets', 'charts', 'tables'],
    ['Spreadsheet', 'Dashboard', 'CSV', 'Survey', 'Metrics', 'Report', 'Data', 'Chart', 'Forecast'],
  ),
  ...topics(
    'hr',
    ['candidates', 'employees', 'job posts', 'interviews'],
    ['Resume', 'Interview', 'Job Post', 'Onboarding', 'Hiring', 'Performance Review', 'Cover Letter', 'Recruiting'],
  ),
  ...topics(
    'legal',
    ['contracts', 'clauses', 'agreements', 'policies'],
    ['Contract', 'NDA', 'Privacy Policy', 'Terms', 'Compliance', 'Trademark', 'Lease', 'Legal'],
  ),
  ...topics(
    'health',
    ['workouts', 'meals', 'habits', 'routines'],
    ['Workout', 'Meal', 'Sleep', 'Habit', 'Meditation', 'Nutrition', 'Running', 'Yoga', 'Fitness'],
  ),
  ...topics(
    'travel',
    ['trips', 'bookings', 'itineraries', 'destinations'],
    ['Trip', 'Flight', 'Hotel', 'Packing', 'Road Trip', 'Visa', 'Travel'],
  ),
  ...topics(
    'ecommerce',
    ['products', 'orders', 'listings', 'stores'],
    ['Product', 'Shopify', 'Dropshipping', 'Print-on-Demand', 'Inventory', 'Pricing', 'Etsy', 'Amazon', 'Store'],
  ),
  ...topics(
    'crypto',
    ['wallets', 'tokens', 'trades', 'chains'],
    ['Crypto', 'Token', 'NFT', 'DeFi', 'Wallet', 'Bitcoin', 'Ethereum', 'Airdrop'],
  ),
  ...topics(
    'education',
    ['lessons', 'students', 'courses', 'quizzes'],
    ['Lesson', 'Quiz', 'Flashcard', 'Homework', 'Language', 'Course', 'Study', 'Math', 'Tutor'],
  ),
  ...topics('real-estate', ['properties', 'listings', 'tenants', 'deals'], ['Listing', 'Rental', 'Property', 'Open House', 'Real Estate']),
  ...topics(
    'sales',
    ['leads', 'prospects', 'deals', 'pipelines'],
    ['Lead', 'Prospect', 'Deal', 'Proposal', 'CRM', 'Cold Call', 'Pipeline', 'Sales'],
  ),
  ...topics('support', ['tickets', 'customers', 'replies', 'chats'], ['Ticket', 'FAQ', 'Help Desk', 'Refund', 'Customer', 'Support']),
  ...topics(
    'design',
    ['mockups', 'assets', 'layouts', 'palettes'],
    ['Logo', 'Color Palette', 'Icon', 'Thumbnail', 'Slide', 'Poster', 'Font', 'Design'],
  ),
  ...topics(
    'productivity',
    ['tasks', 'meetings', 'notes', 'schedules'],
    ['Calendar', 'Task', 'Meeting', 'Inbox', 'Notes', 'Focus', 'Todo', 'Agenda', 'Workflow'],
  ),
];

const TASKS: { name: string; verb: string }[] = [
  { name: 'Planner', verb: 'plans' },
  { name: 'Tracker', verb: 'tracks' },
  { name: 'Generator', verb: 'generates' },
  { name: 'Writer', verb: 'writes' },
  { name: 'Analyzer', verb: 'analyzes' },
  { name: 'Optimizer', verb: 'optimizes' },
  { name: 'Finder', verb: 'finds' },
  { name: 'Summarizer', verb: 'summarizes' },
  { name: 'Checker', verb: 'checks' },
  { name: 'Builder', verb: 'builds' },
  { name: 'Scheduler', verb: 'schedules' },
  { name: 'Reviewer', verb: 'reviews' },
  { name: 'Assistant', verb: 'helps with' },
  { name: 'Coach', verb: 'coaches you on' },
  { name: 'Auditor', verb: 'audits' },
  { name: 'Forecaster', verb: 'forecasts' },
  { name: 'Organizer', verb: 'organizes' },
  { name: 'Translator', verb: 'translates' },
  { name: 'Monitor', verb: 'monitors' },
  { name: 'Helper', verb: 'helps with' },
];

const PREFIXES = ['Smart', 'Quick', 'Auto', 'Daily', 'Instant', 'Simple', 'Advanced', 'Personal', 'Team', 'Pro'];
const SUFFIXES = ['Agent', 'Bot', 'AI', 'GPT', 'Copilot', 'Wizard', 'Buddy', 'Studio', 'Lab', 'Pro'];
const AUDIENCES = [
  'freelancers',
  'small businesses',
  'startups',
  'agencies',
  'creators',
  'students',
  'families',
  'teams',
  'solo founders',
  'enterprises',
];
const TOOLS = [
  'Google Sheets',
  'Notion',
  'Slack',
  'Gmail',
  'Stripe',
  'Shopify',
  'HubSpot',
  'Airtable',
  'Zapier',
  'Trello',
  'GitHub',
  'Dropbox',
];
const FORMATS = [
  'a weekly report',
  'a ranked list',
  'a checklist',
  'a one-page summary',
  'a comparison table',
  'a step-by-step plan',
  'a dashboard',
];
const QUALITIES = [
  'in minutes',
  'on autopilot',
  'without spreadsheets',
  'with clear next steps',
  'in plain English',
  'every morning',
  'before deadlines slip',
];
const CREATORS = [
  'northwind-ai',
  'acme-agents',
  'brightpath',
  'lumen-labs',
  'quillcraft',
  'datapilot',
  'tinyteam',
  'orbitworks',
  'greenleaf',
  'bytebarn',
  'hexagon-studio',
  'sparrow-ai',
  'fjordsoft',
  'kitebase',
  'mosaic-apps',
  'pinecrest',
];

function topics(category: string, objects: string[], names: string[]): Topic[] {
  return names.map((name) => ({ name, category, objects }));
}

/** mulberry32: a tiny, fast, seedable PRNG (32-bit state). */
function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

const slugOf = (text: string) =>
  text
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-|-$/g, '');

/** The generated agent number `index` (0-based) of a store made with `seed`. */
export function generatedAgent(index: number, seed = 1): Agent {
  const next = random(Math.imul(index + 1, 2_654_435_761) ^ seed);
  const pick = <T>(items: readonly T[]): T => items[Math.floor(next() * items.length)]!;
  const topic = pick(TOPICS);
  const task = pick(TASKS);
  const prefix = next() < 0.3 ? `${pick(PREFIXES)} ` : '';
  const suffix = next() < 0.35 ? ` ${pick(SUFFIXES)}` : '';
  const name = `${prefix}${topic.name} ${task.name}${suffix}`;
  const second = next() < 0.4 ? pick(TOPICS) : undefined;
  const categories = [...new Set([topic.category, ...(second ? [second.category] : []), ...(next() < 0.3 ? ['productivity'] : [])])];
  const object = pick(topic.objects);
  const audience = pick(AUDIENCES);
  const topicWords = topic.name.toLowerCase();
  const sentences = [
    `${name} ${task.verb} your ${topicWords} ${object} ${pick(QUALITIES)}.`,
    `Connect ${pick(TOOLS)} or ${pick(TOOLS)} and it reads your ${object}, then returns ${pick(FORMATS)} with what to do next.`,
    `Built for ${audience} who want less busywork around ${topicWords}${second ? ` and ${second.name.toLowerCase()} ${pick(second.objects)}` : ''}.`,
  ];
  if (next() < 0.5) sentences.push(`It flags anything unusual in your ${pick(topic.objects)} and explains why it matters.`);
  return {
    slug: `${slugOf(name)}-${index.toString(36)}`,
    name,
    subHeading: `${capitalise(task.verb)} ${topicWords} ${object} for ${audience}`,
    description: sentences.join(' '),
    creator: pick(CREATORS),
    categories,
    // Popularity is heavy-tailed, like a real store: most agents are barely used, a few very much.
    runs: Math.floor(10 ** (next() * next() * 6.2)),
    rating: Math.round((3 + next() * 2) * 10) / 10,
  };
}

/** `count` generated agents, numbered from `start`. */
export function generateAgents(count: number, options: { seed?: number; start?: number } = {}): Agent[] {
  const start = options.start ?? 0;
  return Array.from({ length: count }, (_, offset) => generatedAgent(start + offset, options.seed));
}

function capitalise(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}
