import { createRandom, InvalidArgumentError, type Random, type Task } from '@arpo/core';

/** A span of a demonstration: model-written text (trained on) or tool output appended by the environment. */
export interface DemonstrationTurn {
  role: 'model' | 'tool';
  text: string;
}

export interface Demonstration {
  task: Task;
  turns: DemonstrationTurn[];
  /** True when the teacher deliberately made a mistake (wrong answer or skipped tool). */
  imperfect: boolean;
}

/** Runs a tool for the teacher. Pass the real sandbox tools so demonstrations show exactly what they return. */
export type TeacherToolRunner = (input: string) => string | Promise<string>;

export interface DemonstrationOptions {
  seed: number;
  /** Share of demonstrations with a deliberate mistake, in [0, 1]. Default 0.2. */
  imperfectShare?: number;
  tools: {
    python?: TeacherToolRunner;
    search?: TeacherToolRunner;
  };
  /** Wraps a tool output the way the protocol appends it. Default `<result>\n{output}\n</result>`. */
  formatResult?: (output: string) => string;
}

const defaultFormatResult = (output: string) => `<result>\n${output}\n</result>`;

function requireRunner(runner: TeacherToolRunner | undefined, name: string): TeacherToolRunner {
  if (runner === undefined) {
    throw new InvalidArgumentError({
      argument: `tools.${name}`,
      message: `a ${name} runner is needed for these tasks`,
    });
  }
  return runner;
}

function perturb(value: string, random: Random): string {
  const number = Number(value);
  if (Number.isFinite(number))
    return String(number + (random.integer(2) === 0 ? -1 : 1) * (1 + random.integer(90)));
  return `${value}s`;
}

async function arithmeticTurns(
  task: Task,
  options: DemonstrationOptions,
  random: Random,
  imperfect: boolean,
) {
  const expression = String(task.metadata?.expression ?? '');
  const python = requireRunner(options.tools.python, 'python');
  const format = options.formatResult ?? defaultFormatResult;
  const reference = task.references[0] ?? '';
  if (imperfect && random.integer(2) === 0) {
    // Mistake 1: answers from "mental arithmetic" without the tool.
    const guess = perturb(reference, random);
    return [
      { role: 'model', text: `<think>I can do this in my head.</think>\n<answer>\\boxed{${guess}}</answer>` },
    ];
  }
  // The tool turn shows the output exactly as the tool returns it (what a rollout appends); the answer is trimmed.
  const raw = await python(`print(${expression})`);
  const output = raw.trim();
  const answer = imperfect ? perturb(output, random) : output;
  return [
    {
      role: 'model',
      text: `<think>I will compute it with python.</think>\n<python>print(${expression})</python>`,
    },
    { role: 'tool', text: format(raw) },
    { role: 'model', text: `\n<think>The result is ${answer}.</think>\n<answer>\\boxed{${answer}}</answer>` },
  ];
}

function firstMention(results: string, pattern: RegExp): string | undefined {
  return pattern.exec(results)?.[1];
}

async function multiHopTurns(task: Task, options: DemonstrationOptions, imperfect: boolean) {
  const person = String(task.metadata?.person ?? '');
  const search = requireRunner(options.tools.search, 'search');
  const format = options.formatResult ?? defaultFormatResult;
  const first = await search(person);
  const escaped = person.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  const city =
    firstMention(first, new RegExp(`${escaped} was born in ([A-Z][a-z]+)`)) ?? String(task.metadata?.city);
  const turns: DemonstrationTurn[] = [
    {
      role: 'model',
      text: `<think>I need to find where ${person} was born.</think>\n<search>${person}</search>`,
    },
    { role: 'tool', text: format(first) },
  ];
  if (imperfect) {
    // Mistake: stops after one hop and answers with the city.
    turns.push({
      role: 'model',
      text: `\n<think>${person} was born in ${city}.</think>\n<answer>\\boxed{${city}}</answer>`,
    });
    return turns;
  }
  const second = await search(city);
  const cityPattern = new RegExp(`${city} is located in ([A-Z][a-z]+)`);
  const country = firstMention(second, cityPattern) ?? task.references[0] ?? '';
  turns.push(
    {
      role: 'model',
      text: `\n<think>${person} was born in ${city}. Now I need the country of ${city}.</think>\n<search>${city}</search>`,
    },
    { role: 'tool', text: format(second) },
    {
      role: 'model',
      text: `\n<think>${city} is located in ${country}.</think>\n<answer>\\boxed{${country}}</answer>`,
    },
  );
  return turns;
}

/**
 * Scripted teacher trajectories in the ARPO tag format for the built-in tasks, for the SFT cold start. A
 * controllable share is deliberately imperfect (a skipped tool or a wrong final answer), so the SFT policy
 * leaves headroom for RL. Deterministic for a given seed and tool runners.
 */
export async function generateDemonstrations(
  tasks: readonly Task[],
  options: DemonstrationOptions,
): Promise<Demonstration[]> {
  const share = options.imperfectShare ?? 0.2;
  if (!(share >= 0 && share <= 1)) {
    throw new InvalidArgumentError({
      argument: 'imperfectShare',
      message: `must be in [0, 1], got ${share}`,
    });
  }
  const random = createRandom({ seed: options.seed }).derive('demonstrations');
  const demonstrations: Demonstration[] = [];
  for (const task of tasks) {
    const imperfect = random.next() < share;
    let turns: DemonstrationTurn[];
    if (task.dataSource === 'arithmetic')
      turns = (await arithmeticTurns(task, options, random, imperfect)) as DemonstrationTurn[];
    else if (task.dataSource === 'multi-hop') turns = await multiHopTurns(task, options, imperfect);
    else {
      throw new InvalidArgumentError({
        argument: 'tasks',
        message: `task '${task.id}' has data source '${task.dataSource}'; demonstrations exist for arithmetic and multi-hop`,
      });
    }
    demonstrations.push({ task, turns, imperfect });
  }
  return demonstrations;
}

/** The full response text of a demonstration (model and tool turns concatenated). */
export function demonstrationText(demonstration: Demonstration): string {
  return demonstration.turns.map((turn) => turn.text).join('');
}
