// Generated container names in Docker's adjective_surname style.
const LEFT = [
  'admiring', 'adoring', 'affectionate', 'amazing', 'awesome', 'blissful', 'bold', 'brave', 'charming',
  'clever', 'compassionate', 'competent', 'confident', 'cool', 'dazzling', 'determined', 'distracted',
  'dreamy', 'eager', 'ecstatic', 'elastic', 'elated', 'elegant', 'eloquent', 'epic', 'exciting',
  'fervent', 'festive', 'flamboyant', 'focused', 'friendly', 'frosty', 'funny', 'gallant', 'gifted',
  'goofy', 'gracious', 'great', 'happy', 'hardcore', 'heuristic', 'hopeful', 'hungry', 'infallible',
  'inspiring', 'intelligent', 'interesting', 'jolly', 'jovial', 'keen', 'kind', 'laughing', 'loving',
  'lucid', 'magical', 'modest', 'musing', 'mystifying', 'naughty', 'nervous', 'nice', 'nifty',
  'nostalgic', 'objective', 'optimistic', 'peaceful', 'pedantic', 'pensive', 'practical', 'priceless',
  'quirky', 'quizzical', 'recursing', 'relaxed', 'reverent', 'romantic', 'sad', 'serene', 'sharp',
  'silly', 'sleepy', 'stoic', 'strange', 'stupefied', 'suspicious', 'sweet', 'tender', 'thirsty',
  'trusting', 'unruffled', 'upbeat', 'vibrant', 'vigilant', 'vigorous', 'wizardly', 'wonderful',
  'xenodochial', 'youthful', 'zealous', 'zen',
];
const RIGHT = [
  'agnesi', 'albattani', 'allen', 'archimedes', 'babbage', 'banach', 'bardeen', 'bartik', 'bassi',
  'bell', 'benz', 'bhabha', 'black', 'bohr', 'booth', 'borg', 'bose', 'brahmagupta', 'brattain',
  'brown', 'burnell', 'carson', 'cerf', 'chandrasekhar', 'chatelet', 'clarke', 'colden', 'cori',
  'curie', 'darwin', 'davinci', 'dijkstra', 'dubinsky', 'easley', 'einstein', 'elbakyan', 'elion',
  'engelbart', 'euclid', 'euler', 'faraday', 'fermat', 'fermi', 'feynman', 'franklin', 'galileo',
  'gauss', 'goldberg', 'goodall', 'gould', 'hamilton', 'hawking', 'heisenberg', 'hermann', 'hodgkin',
  'hofstadter', 'hopper', 'hypatia', 'jackson', 'jang', 'jennings', 'jepsen', 'johnson', 'kalam',
  'kapitsa', 'keller', 'kepler', 'khorana', 'kilby', 'knuth', 'lalande', 'lamarr', 'leakey', 'leavitt',
  'lehmann', 'lewin', 'liskov', 'lovelace', 'lumiere', 'mahavira', 'margulis', 'matsumoto', 'maxwell',
  'mayer', 'mccarthy', 'mcclintock', 'meitner', 'mendel', 'merkle', 'mirzakhani', 'montalcini',
  'moore', 'morse', 'napier', 'nash', 'neumann', 'newton', 'nobel', 'noether', 'northcutt', 'noyce',
  'panini', 'pascal', 'pasteur', 'payne', 'perlman', 'pike', 'poincare', 'ptolemy', 'raman',
  'ramanujan', 'ride', 'ritchie', 'roentgen', 'rosalind', 'saha', 'sammet', 'shamir', 'shannon',
  'shaw', 'shockley', 'sinoussi', 'snyder', 'spence', 'stonebraker', 'sutherland', 'swanson',
  'swartz', 'tesla', 'thompson', 'torvalds', 'turing', 'varahamihira', 'visvesvaraya', 'volhard',
  'wescoff', 'wilbur', 'wiles', 'williams', 'wilson', 'wing', 'wozniak', 'wright', 'wu', 'yalow',
  'yonath', 'zhukovsky',
];

export function generateName(retry = 0): string {
  const l = LEFT[Math.floor(Math.random() * LEFT.length)];
  const r = RIGHT[Math.floor(Math.random() * RIGHT.length)];
  return retry > 0 ? `${l}_${r}${Math.floor(Math.random() * 10)}` : `${l}_${r}`;
}

/** Docker's rule for container names: [a-zA-Z0-9][a-zA-Z0-9_.-]+ */
export const VALID_CONTAINER_NAME = /^\/?[a-zA-Z0-9][a-zA-Z0-9_.-]+$/;
