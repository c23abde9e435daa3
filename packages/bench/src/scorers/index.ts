export * from './extract-answer.js';
export * from './latex-to-expression.js';
export * from './llm-judge-scorer.js';
export * from './math-equivalence.js';
export * from './rule-scorers.js';
export * from './scorer.js';
