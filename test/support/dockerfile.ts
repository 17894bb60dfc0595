// A small Dockerfile reader for the tests that hold the Dockerfile to what the chart, the build
// and the versioning rely on. It knows only what those tests need: instructions in order, with
// comments dropped and continuation lines joined, grouped into stages.

export interface Instruction {
  keyword: string;
  args: string;
}

/** Dockerfile instructions in order, with comments dropped and continuation lines joined. */
export function instructions(text: string): Instruction[] {
  const joined = text
    .split('\n')
    .filter((line) => !line.trimStart().startsWith('#'))
    .join('\n')
    .replace(/\\\n/g, ' ');
  return joined
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '')
    .map((line) => {
      const [keyword = '', ...rest] = line.split(/\s+/);
      return { keyword: keyword.toUpperCase(), args: rest.join(' ') };
    });
}

/** The instructions of each stage (a stage starts at FROM); instructions before the first FROM are left out. */
export function stages(all: Instruction[]): Instruction[][] {
  const result: Instruction[][] = [];
  for (const instruction of all) {
    if (instruction.keyword === 'FROM') result.push([]);
    result.at(-1)?.push(instruction);
  }
  return result;
}

/**
 * How the image starts the operator, from the final stage: the ENTRYPOINT's Node options (what
 * stands between node and the script) and the environment its ENV lines set. The benchmark runs
 * `node dist/main.js` with exactly these, so that it measures what ships.
 */
export function shippedProcess(text: string): {
  node: string;
  nodeOptions: string[];
  script: string;
  env: Record<string, string>;
} {
  const final = stages(instructions(text)).at(-1) ?? [];
  const entrypoint = final.filter((instruction) => instruction.keyword === 'ENTRYPOINT').at(-1);
  const command = JSON.parse(entrypoint?.args ?? '[]') as string[];
  const node = command[0];
  const script = command.at(-1);
  if (command.length < 2 || node === undefined || script === undefined)
    throw new Error(`the final stage's ENTRYPOINT is not [node, ...options, script]: ${entrypoint?.args}`);
  const env: Record<string, string> = {};
  for (const instruction of final.filter((candidate) => candidate.keyword === 'ENV')) {
    for (const setting of instruction.args.split(/\s+/)) {
      const [name = '', ...value] = setting.split('=');
      env[name] = value.join('=');
    }
  }
  return { node, nodeOptions: command.slice(1, -1), script, env };
}
