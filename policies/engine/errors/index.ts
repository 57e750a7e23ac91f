export { TollgateError, type TollgateErrorCode } from './tollgate-error.ts';
export { BundleError, type BundleIssue } from './bundle-error.ts';
export { ConfigError } from './config-error.ts';
export { InputError } from './input-error.ts';
export { BundleSignatureError } from './bundle-signature-error.ts';
export { AdmissionRequestError } from './admission-request-error.ts';
export { UsageError } from './usage-error.ts';
