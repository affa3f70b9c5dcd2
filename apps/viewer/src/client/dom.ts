// Small DOM helpers of the page.
import { CLASS_COLOURS } from '../shared/colours.ts';

/** The element with `id`; throws when the page lacks it (a bug in index.html). */
export function byId<T extends HTMLElement = HTMLElement>(id: string): T {
  const el = document.getElementById(id);
  if (el === null) throw new Error(`The page has no #${id}.`);
  return el as T;
}

type Child = Node | string | null | undefined | false;

/** Creates an element with attributes (`class`, `aria-*`, ...) and children. */
export function h<K extends keyof HTMLElementTagNameMap>(tag: K, attrs: Record<string, string | number | boolean | undefined> = {}, ...children: Child[]): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === undefined || value === false) continue;
    el.setAttribute(name, value === true ? '' : String(value));
  }
  for (const child of children) if (child !== null && child !== undefined && child !== false) el.append(child);
  return el;
}

/**
 * Shows a message above the page until it is dismissed or its `topic` is cleared (see {@link clearMessages}), e.g. a
 * model error once a model loads. Returns the element.
 */
export function showMessage(text: string, kind: 'error' | 'info' = 'error', topic = 'general'): HTMLElement {
  const box = byId('messages');
  for (const old of box.querySelectorAll<HTMLElement>('.message')) if (old.dataset['topic'] === topic && old.textContent?.startsWith(text)) old.remove();
  const dismiss = h('button', { type: 'button', 'aria-label': 'Dismiss this message' }, 'Dismiss');
  const message = h('div', { class: `message ${kind}`, role: kind === 'error' ? 'alert' : 'status', 'data-kind': kind, 'data-topic': topic }, h('p', {}, text), dismiss);
  dismiss.addEventListener('click', () => message.remove());
  box.append(message);
  // Keep the newest few.
  while (box.children.length > 4) box.firstElementChild?.remove();
  return message;
}

/** Removes the messages of a topic. */
export function clearMessages(topic: string): void {
  for (const el of byId('messages').querySelectorAll<HTMLElement>('.message')) if (el.dataset['topic'] === topic) el.remove();
}

/** A number with `digits` decimals, or "–" when it is not finite. */
export function fmt(value: unknown, digits = 3): string {
  return typeof value === 'number' && Number.isFinite(value) ? value.toFixed(digits) : '–';
}

/** The CSS class carrying a class id's colour (`c1`..`c4`, repeating). */
export const classClass = (classId: number) => `c${((classId - 1) % CLASS_COLOURS.length) + 1}`;
