/** How `tollgate evidence verify` prints a verification for people. */
import type { VerifyResult } from '../io/decision-log/verify.ts';

/** The text report: one line per writer, then VERIFIED or BROKEN with every first broken line. */
export function formatVerification(result: VerifyResult): string {
  const lines = [
    `${result.files.length} file(s), ${result.lines} line(s), ${result.writers.length} writer(s)`,
  ];
  for (const writer of result.writers) {
    const signed = result.signaturesChecked
      ? `${writer.signedCheckpoints} signed${writer.keyIds.length > 0 ? ` by ${writer.keyIds.join(', ')}` : ''}`
      : 'signatures not checked';
    lines.push(
      `  ${writer.writer}  seq ${writer.firstSeq}-${writer.lastSeq}  ${writer.files.length} file(s)  ${writer.checkpoints} checkpoint(s) (${signed})  ${writer.closed ? 'closed' : 'open'}${writer.firstTime ? `  ${writer.firstTime} .. ${writer.lastTime}` : ''}`,
    );
  }
  if (result.ok) {
    lines.push(
      `VERIFIED: every writer's chain is whole${result.signaturesChecked ? ' and every checkpoint signature verifies' : '; checkpoint signatures were NOT checked (give --trusted-keys)'}${result.allowOpen && result.writers.some((w) => !w.closed) ? '; open writers accepted (--allow-open): lines after their last checkpoint are not covered by a signature' : ''}`,
    );
  } else if (result.writers.length === 0 && result.breaks.length === 0) {
    lines.push('BROKEN: the files hold no decision log lines');
  } else {
    lines.push(`BROKEN: ${result.breaks.length} place(s); the first broken line of each writer:`);
    for (const item of result.breaks)
      lines.push(
        `  ${item.file}:${item.line}: ${item.writer ? `writer ${item.writer} seq ${item.seq}: ` : ''}${item.reason}`,
      );
  }
  return `${lines.join('\n')}\n`;
}
