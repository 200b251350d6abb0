/**
 * A strict little XML reader for the exporter tests: elements, attributes, text and CDATA;
 * throws on anything malformed (unclosed or mismatched tags, bad attributes, stray '<').
 */
export interface XmlElement {
  readonly name: string;
  readonly attributes: Record<string, string>;
  readonly children: XmlElement[];
  text: string;
}

const ENTITIES: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };

function unescapeXml(s: string): string {
  return s.replace(/&(amp|lt|gt|quot|apos);/g, (_, e: string) => ENTITIES[e] ?? '');
}

export function parseXml(xml: string): XmlElement {
  let i = 0;
  const decl = /^<\?xml[^?]*\?>\s*/.exec(xml);
  if (decl === null) throw new Error('no XML declaration');
  i = decl[0].length;
  const stack: XmlElement[] = [];
  let root: XmlElement | null = null;
  while (i < xml.length) {
    if (xml.startsWith('<![CDATA[', i)) {
      const end = xml.indexOf(']]>', i);
      if (end < 0) throw new Error('unterminated CDATA');
      const top = stack.at(-1);
      if (top === undefined) throw new Error('CDATA outside the root');
      top.text += xml.slice(i + 9, end);
      i = end + 3;
    } else if (xml.startsWith('</', i)) {
      const m = /^<\/([A-Za-z_][\w.-]*)\s*>/.exec(xml.slice(i));
      const top = stack.pop();
      if (m === null || top === undefined || m[1] !== top.name) throw new Error(`mismatched closing tag at ${i}`);
      i += m[0].length;
    } else if (xml[i] === '<') {
      const m = /^<([A-Za-z_][\w.-]*)((?:\s+[A-Za-z_][\w.-]*="[^"<]*")*)\s*(\/?)>/.exec(xml.slice(i));
      if (m === null) throw new Error(`malformed tag at ${i}: ${xml.slice(i, i + 40)}`);
      const attributes: Record<string, string> = {};
      for (const a of (m[2] ?? '').matchAll(/([A-Za-z_][\w.-]*)="([^"]*)"/g)) {
        if (a[1] === undefined || Object.hasOwn(attributes, a[1])) throw new Error(`duplicate attribute ${a[1]}`);
        attributes[a[1]] = unescapeXml(a[2] ?? '');
      }
      const el: XmlElement = { name: m[1] ?? '', attributes, children: [], text: '' };
      const parent = stack.at(-1);
      if (parent !== undefined) parent.children.push(el);
      else if (root === null) root = el;
      else throw new Error('two root elements');
      if (m[3] !== '/') stack.push(el);
      i += m[0].length;
    } else {
      const next = xml.indexOf('<', i);
      const text = xml.slice(i, next < 0 ? xml.length : next);
      const top = stack.at(-1);
      if (top === undefined) {
        if (text.trim() !== '') throw new Error('text outside the root');
      } else {
        top.text += unescapeXml(text);
      }
      i = next < 0 ? xml.length : next;
    }
  }
  if (stack.length > 0 || root === null) throw new Error('unclosed elements');
  return root;
}

export function child(el: XmlElement, name: string): XmlElement {
  const found = el.children.find((c) => c.name === name);
  if (found === undefined) throw new Error(`<${el.name}> has no <${name}>`);
  return found;
}
