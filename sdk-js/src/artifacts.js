// `Artifacts`: the read-only files the manifest names under `[artifacts]` (a model's coefficients,
// a calendar), handed to `init` as bytes, read as bytes, text or JSON.

import { ParamError } from './params.js';

/** One artifact: its bytes and their sha256 (hex), as the host read them. */
export class Artifact {
  /**
   * @param {string} sha256
   * @param {Uint8Array} data
   */
  constructor(sha256, data) {
    /** @readonly */ this.sha256 = sha256;
    /** @readonly */ this.data = data;
  }
}

/** The strategy's artifacts by name: `ctx.artifacts.json('model')`. */
export class Artifacts {
  /** @type {Map<string, Artifact>} */ #byName = new Map();

  /**
   * Adds (or replaces) artifact `name`; for tests that build an `InitContext`.
   * @param {string} name
   * @param {string} sha256
   * @param {Uint8Array} data
   */
  insert(name, sha256, data) {
    this.#byName.set(name, new Artifact(sha256, Uint8Array.from(data)));
  }

  /**
   * Artifact `name`; a `ParamError` lists the names the manifest gave.
   * @param {string} name
   * @returns {Artifact}
   */
  get(name) {
    const a = this.#byName.get(name);
    if (a === undefined) {
      const names = [...this.names()].join(', ');
      throw new ParamError(null, `artifact \`${name}\` is not in the manifest's [artifacts] (it names: [${names}])`);
    }
    return a;
  }

  /** @param {string} name @returns {Uint8Array} the bytes of artifact `name` */
  bytes(name) {
    return this.get(name).data;
  }

  /** @param {string} name @returns {string} artifact `name` as UTF-8 text */
  text(name) {
    try {
      return new TextDecoder('utf-8', { fatal: true }).decode(this.bytes(name));
    } catch (e) {
      if (e instanceof ParamError) throw e;
      throw new ParamError(null, `artifact \`${name}\` is not UTF-8 text: ${e instanceof Error ? e.message : e}`);
    }
  }

  /** @param {string} name @returns {any} artifact `name` parsed from JSON */
  json(name) {
    const text = this.text(name);
    try {
      return JSON.parse(text);
    } catch (e) {
      throw new ParamError(
        null,
        `artifact \`${name}\` is not valid JSON for this strategy: ${e instanceof Error ? e.message : e}`,
      );
    }
  }

  /** @returns {string[]} names, sorted */
  names() {
    return [...this.#byName.keys()].sort();
  }
}
