import { TollgateError } from '../../policies/index.ts';

/**
 * The cluster could not be reached or refused a request the audit needs (kubeconfig, context,
 * connection, authorisation); the message names the request, the status and the API server's words.
 */
export class ClusterError extends TollgateError {
  /** HTTP status, 0 when no answer came. */
  readonly status: number;

  constructor(method: string, path: string, status: number, message: string) {
    super('TOLLGATE_CLUSTER', `${method} ${path}: ${status === 0 ? '' : `${status} `}${message}`);
    this.status = status;
  }
}
