import type { ESLint, Rule } from 'eslint';

/** What each layer's source may import (besides itself). */
export declare const allowedLayers: Readonly<Record<string, readonly string[]>>;
/** The rule `tollgate/layers`. */
export declare const layersRule: Rule.RuleModule;
/** The local plugin registered in eslint.config.js. */
export declare const tollgatePlugin: ESLint.Plugin;
