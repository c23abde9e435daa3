import type { ChatMessage } from '@arpo/core';

/**
 * The chat template written into `tokenizer_config.json` of tokenizers trained here (Jinja, rendered by
 * `@huggingface/transformers` and Python `transformers` alike):
 *
 * ```text
 * <|bos|><|system|>\n{content}<|eos|>\n<|user|>\n{content}<|eos|>\n<|assistant|>\n
 * ```
 *
 * Role markers are plain text; every turn ends with EOS, so a model trained on it stops its turn with EOS.
 */
export const defaultChatTemplate =
  "{% if bos_token %}{{ bos_token }}{% endif %}{% for message in messages %}{{ '<|' + message['role'] + '|>\\n' }}" +
  "{{ message['content'] }}{% if eos_token %}{{ eos_token }}{% endif %}{{ '\\n' }}{% endfor %}" +
  "{% if add_generation_prompt %}{{ '<|assistant|>\\n' }}{% endif %}";

/** Renders `defaultChatTemplate` without a Jinja engine (identical output). */
export function renderDefaultChatTemplate(
  messages: readonly ChatMessage[],
  options: { bosToken?: string; eosToken?: string; addGenerationPrompt: boolean },
): string {
  let text = options.bosToken ?? '';
  for (const message of messages)
    text += `<|${message.role}|>\n${message.content}${options.eosToken ?? ''}\n`;
  if (options.addGenerationPrompt) text += '<|assistant|>\n';
  return text;
}
