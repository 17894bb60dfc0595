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
