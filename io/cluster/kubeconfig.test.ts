import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ClusterError } from './cluster-error.ts';
import { readKubeconfig, tokenHeader } from './kubeconfig.ts';

const dir = mkdtempSync(join(tmpdir(), 'tollgate-kubeconfig-'));

function kubeconfig(name: string, user: string, cluster = 'certificate-authority: ca.crt'): string {
  const file = join(dir, name);
  writeFileSync(
    file,
    `apiVersion: v1
kind: Config
clusters:
  - name: prod
    cluster:
      server: https://10.0.0.1:6443/
      ${cluster}
users:
  - name: u
    user:
${user
  .split('\n')
  .map((line) => `      ${line}`)
  .join('\n')}
contexts:
  - name: prod
    context: { cluster: prod, user: u }
  - name: other
    context: { cluster: prod, user: u }
current-context: prod
`,
  );
  return file;
}

writeFileSync(join(dir, 'ca.crt'), 'CA-PEM');
writeFileSync(join(dir, 'client.crt'), 'CERT-PEM');
writeFileSync(join(dir, 'token'), 'from-file\n');

describe('readKubeconfig', () => {
  it('reads a client certificate context, files relative to the kubeconfig', () => {
    const file = kubeconfig('cert.yaml', 'client-certificate: client.crt\nclient-key-data: S0VZ');
    const connection = readKubeconfig({ kubeconfig: file }, {});
    expect(connection?.server).toBe('https://10.0.0.1:6443');
    expect(String(connection?.options.ca)).toBe('CA-PEM');
    expect(String(connection?.options.cert)).toBe('CERT-PEM');
    expect(String(connection?.options.key)).toBe('KEY');
  });

  it('sends a token as a bearer header, and reads a token file before each request', () => {
    const token = readKubeconfig({ kubeconfig: kubeconfig('token.yaml', 'token: abc') }, {});
    expect(token?.options.headers).toEqual({ Authorization: 'Bearer abc' });
    const file = readKubeconfig({ kubeconfig: kubeconfig('token-file.yaml', 'tokenFile: token') }, {});
    expect(file?.tokenFile).toBe(join(dir, 'token'));
    expect(tokenHeader(join(dir, 'token'))).toBe('Bearer from-file');
    writeFileSync(join(dir, 'token'), 'rotated');
    expect(tokenHeader(join(dir, 'token'))).toBe('Bearer rotated');
  });

  it('leaves exec plugins, auth providers and merged files to client-node', () => {
    const exec = kubeconfig(
      'exec.yaml',
      'exec:\n  command: aws\n  apiVersion: client.authentication.k8s.io/v1',
    );
    expect(readKubeconfig({ kubeconfig: exec }, {})).toBeUndefined();
    expect(
      readKubeconfig(
        { kubeconfig: kubeconfig('proxy.yaml', 'token: t', 'proxy-url: http://proxy:3128') },
        {},
      ),
    ).toBeUndefined();
    expect(readKubeconfig({}, { KUBECONFIG: `${exec}:${exec}` })).toBeUndefined();
  });

  it('uses $KUBECONFIG when it names one file, and --context picks a context', () => {
    const file = kubeconfig('env.yaml', 'token: abc');
    expect(readKubeconfig({ context: 'other' }, { KUBECONFIG: file })?.server).toBe('https://10.0.0.1:6443');
  });

  it('names the contexts when the one asked for does not exist, and the file it cannot read', () => {
    const file = kubeconfig('ctx.yaml', 'token: abc');
    expect(() => readKubeconfig({ kubeconfig: file, context: 'staging' }, {})).toThrow(
      'no context "staging" (contexts: prod, other)',
    );
    expect(() => readKubeconfig({ kubeconfig: join(dir, 'absent.yaml') }, {})).toThrow(ClusterError);
    const missingCa = kubeconfig('ca.yaml', 'token: abc', 'certificate-authority: nowhere.crt');
    expect(() => readKubeconfig({ kubeconfig: missingCa }, {})).toThrow(/nowhere\.crt/);
  });
});
