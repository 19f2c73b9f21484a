// Where the tests find the repository's shared files (the golden vectors, the WIT, the samples).

import { fileURLToPath } from 'node:url';
import { join } from 'node:path';

export const SDK_DIR = fileURLToPath(new URL('../../', import.meta.url));
export const REPO = join(SDK_DIR, '..');
export const VECTORS = join(REPO, 'vectors');
