import { readFileSync } from 'node:fs';

/**
 * The operator's version, read from package.json: the one source that `--version`, the
 * `influx_onboarding_operator_build_info` metric and the User-Agent report. package.json sits one
 * level above both src/ (tsx) and dist/ (the image), so the same relative URL finds it in both;
 * the chart's version/appVersion and the image's labels are held equal to it by
 * test/unit/version.test.ts and the Dockerfile's build-time check.
 */
export function operatorVersion(): string {
  const text = readFileSync(new URL('../package.json', import.meta.url), 'utf8');
  return (JSON.parse(text) as { version: string }).version;
}
