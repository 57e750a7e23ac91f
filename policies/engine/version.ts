/** The running tollgate version, checked against a bundle's `spec.requires` (kept equal to package.json by a test). */
export const TOLLGATE_VERSION = '0.1.0';
