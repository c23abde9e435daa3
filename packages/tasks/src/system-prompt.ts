/**
 * The system prompt of the built-in tasks: the reference ARPO instructions, shortened so that small models
 * with short contexts can learn it. The tag grammar is the same as the reference's.
 */
export const builtInSystemPrompt =
  'Solve the question. Reason inside <think> </think>. To use a tool write <python> code </python> or ' +
  '<search> query </search>; the result comes back inside <result> </result>. End with ' +
  '<answer>\\boxed{final answer}</answer>.';
