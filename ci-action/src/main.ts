/** Entry point of the GitHub Action (bundled to ci-action/dist/index.js). */
import { run } from './action/run.ts';

await run();
