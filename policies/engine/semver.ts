/**
 * The semver library, loaded on first use: building its regular expressions cost every command's
 * start several milliseconds, and only a bundle file being loaded (metadata.version,
 * spec.requires) or a GitOps source's version pin needs it.
 */
import type * as Semver from 'semver';
import { onDemand } from './on-demand.ts';

/** semver's functions (valid, validRange, satisfies, …). */
export const semver = onDemand<typeof Semver>('semver', () => require('semver'));
