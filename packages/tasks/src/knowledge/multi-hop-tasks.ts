import { createRandom, type Task } from '@arpo/core';
import { type Split, type TaskGenerationOptions, taskPrompt } from '../arithmetic/arithmetic-tasks.js';
import type { KnowledgeBase } from './knowledge-base.js';

/** The question asked about a person. */
export function multiHopQuestion(person: string): string {
  return `In which country was ${person} born?`;
}

/**
 * Two-hop questions over a generated knowledge base: "In which country was X born?" needs one search for X
 * (its birth city) and one for the city (its country). People are split between train and test, so test
 * questions are about people never seen in training.
 */
export function generateMultiHopTasks(
  options: TaskGenerationOptions & { knowledgeBase: KnowledgeBase },
): Task[] {
  const order = createRandom({ seed: options.seed })
    .derive('multi-hop')
    .shuffle(options.knowledgeBase.people.map((_, index) => index));
  const testShare = Math.floor(order.length / 4);
  const pool: Record<Split, number[]> = { test: order.slice(0, testShare), train: order.slice(testShare) };
  const chosen = pool[options.split].slice(0, options.count);
  const countryOf = new Map(options.knowledgeBase.cities.map((city) => [city.name, city.country]));
  return chosen.map((personIndex, index) => {
    const person = options.knowledgeBase.people[personIndex];
    if (person === undefined) throw new Error('unreachable: person index out of range');
    const country = countryOf.get(person.city) as string;
    return {
      id: `multi-hop-${options.split}-${index}`,
      prompt: taskPrompt(multiHopQuestion(person.name), options.systemPrompt),
      references: [country],
      tools: ['search'],
      dataSource: 'multi-hop',
      metadata: { person: person.name, city: person.city },
    };
  });
}
