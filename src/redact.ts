/**
 * Credentials inside text that is printed or logged: the password of a URL's userinfo
 * (`postgres://user:secret@host`) and `password=` parameters (URL query or libpq keywords).
 * Applied to `config print`, every log line and start-up errors, so that a database URL is
 * never shown with its password wherever it ends up.
 *
 * @example
 * redactCredentials('postgres://app:s3cret@db/prekeyd?password=x&sslmode=require');
 * // 'postgres://app:********@db/prekeyd?password=********&sslmode=require'
 */
const mask = '********';

/** `scheme://user:password@`: the password runs to the last `@` before the host part. */
const userinfoPassword = /([a-z][a-z0-9+.-]*:\/\/[^\s:/?#@"'\\]*:)[^\s/?#"'\\]*@/gi;
/** `password=…` and `sslpassword=…` up to the next separator. */
const passwordParameter = /(\b(?:ssl)?password=)[^\s&;"'\\]*/gi;

export function redactCredentials(text: string): string {
  if (!text.includes('://') && !/password=/i.test(text)) return text;
  return text.replace(userinfoPassword, `$1${mask}@`).replace(passwordParameter, `$1${mask}`);
}
