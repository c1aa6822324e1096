/**
 * Look-alike names: the single-script rule of Unicode's security mechanisms (UTS #39 §5.1–5.2)
 * and a confusable-folded comparison key, so that `аlice` (with a Cyrillic а) cannot pose as
 * `alice`, nor the all-Cyrillic `аее` as the Latin `aee`.
 *
 * **Single script.** Each character has a set of scripts, its Script_Extensions (`\p{scx=…}`);
 * characters of the Common and Inherited scripts (digits, punctuation, emoji, combining marks)
 * go with any script. A name passes when the intersection of its characters' sets is not empty,
 * with UTS #39's augmentation so that the scripts written together stay together: Han with
 * Hiragana and Katakana (Japanese), Han with Hangul (Korean), Han with Bopomofo.
 *
 * **Confusable key.** Compatibility-normalized (NFKC: fullwidth and mathematical letters become
 * plain ones), lower-cased, decomposed (NFD, so accents stay and only base letters are folded),
 * then each Cyrillic, Greek or Latin letter that looks like a basic Latin letter is replaced by
 * it, as are the digits 0 and 1 (o and l). The key must not depend on case (`Alice` and `alice`
 * are one name), so a letter is folded by the look of either case: Cyrillic `н` and Greek `η`
 * fold to `h` because `Н` and `Η` look like `H`. This is a deliberately small table of the
 * common look-alikes, not the whole of Unicode's confusables.txt: it errs towards calling two
 * names the same (a refused name costs a user another try; an impersonation costs more).
 *
 * @module
 */

/** Cyrillic, Greek and Latin letters (lower case) folded to the basic Latin letter they look like. */
const FOLDS: Readonly<Record<string, string>> = {
  // Cyrillic
  "а": "a", "в": "b", "е": "e", "к": "k", "м": "m", "н": "h", "о": "o", "р": "p", "с": "c", "т": "t",
  "у": "y", "х": "x", "ѕ": "s", "і": "i", "ј": "j", "ԁ": "d", "һ": "h", "ԛ": "q", "ԝ": "w", "ӏ": "l",
  "ү": "y",
  // Greek
  "α": "a", "β": "b", "γ": "y", "ε": "e", "ζ": "z", "η": "h", "ι": "i", "κ": "k", "μ": "m", "ν": "n",
  "ο": "o", "ρ": "p", "τ": "t", "υ": "y", "χ": "x", "ω": "w", "ϲ": "c", "ϳ": "j",
  // Latin and digits
  "ı": "i", "ɩ": "i", "ɑ": "a", "ɡ": "g", "ʏ": "y", "0": "o", "1": "l",
};

const FOLDABLE = new RegExp(`[${Object.keys(FOLDS).join("")}]`, "gu");

/**
 * The key two names are compared by (see the module comment): equal keys mean the names look
 * the same to a reader, so only one of them may be online.
 */
export function confusableKey(name: string): string {
  return name
    .normalize("NFKC")
    .toLowerCase()
    .normalize("NFD")
    .replace(FOLDABLE, (letter) => FOLDS[letter]!)
    .normalize("NFC");
}

// Every script of Unicode 15 (ISO 15924 codes, as `\p{scx=…}` accepts them), but Common,
// Inherited and Unknown, which are handled apart.
const SCRIPTS =
  "Adlm Aghb Ahom Arab Armi Armn Avst Bali Bamu Bass Batk Beng Bhks Bopo Brah Brai Bugi Buhd Cakm Cans Cari Cham Cher Chrs " +
  "Copt Cpmn Cprt Cyrl Deva Diak Dogr Dsrt Dupl Egyp Elba Elym Ethi Geor Glag Gong Gonm Goth Gran Grek Gujr Guru Hang Hani " +
  "Hano Hatr Hebr Hira Hluw Hmng Hmnp Hung Ital Java Kali Kana Kawi Khar Khmr Khoj Kits Knda Kthi Lana Laoo Latn Lepc Limb " +
  "Lina Linb Lisu Lyci Lydi Mahj Maka Mand Mani Marc Medf Mend Merc Mero Mlym Modi Mong Mroo Mtei Mult Mymr Nagm Nand Narb " +
  "Nbat Newa Nkoo Nshu Ogam Olck Orkh Orya Osge Osma Ougr Palm Pauc Perm Phag Phli Phlp Phnx Plrd Prti Rjng Rohg Runr Samr " +
  "Sarb Saur Sgnw Shaw Shrd Sidd Sind Sinh Sogd Sogo Sora Soyo Sund Sylo Syrc Tagb Takr Tale Talu Taml Tang Tavt Telu Tfng " +
  "Tglg Thaa Thai Tibt Tirh Tnsa Toto Ugar Vaii Vith Wara Wcho Xpeo Xsux Yezi Yiii Zanb";

/** UTS #39 §5.1: the writing systems a script belongs to besides itself. */
const AUGMENT: Readonly<Record<string, readonly string[]>> = {
  Hani: ["Hanb", "Jpan", "Kore"],
  Hira: ["Jpan"],
  Kana: ["Jpan"],
  Hang: ["Kore"],
  Bopo: ["Hanb"],
};

const ANY_SCRIPT = /^[\p{scx=Zyyy}\p{scx=Zinh}]$/u;

/** One `\p{scx=…}` test per script, built on first use (a script the runtime does not know is left out). */
let matchers: ReadonlyArray<readonly [string, RegExp]> | undefined;

function scriptMatchers(): ReadonlyArray<readonly [string, RegExp]> {
  if (matchers === undefined) {
    const built: Array<readonly [string, RegExp]> = [];
    for (const script of SCRIPTS.split(" ")) {
      try {
        built.push([script, new RegExp(`^\\p{scx=${script}}$`, "u")]);
      } catch {
        // An older runtime's Unicode tables: its unknown scripts cannot occur in its strings' properties.
      }
    }
    matchers = built;
  }
  return matchers;
}

/** The augmented Script_Extensions of one character, or undefined for "any script". */
function scriptsOf(char: string): Set<string> | undefined {
  if (ANY_SCRIPT.test(char)) return undefined;
  const scripts = new Set<string>();
  for (const [script, matcher] of scriptMatchers()) {
    if (!matcher.test(char)) continue;
    scripts.add(script);
    for (const extra of AUGMENT[script] ?? []) scripts.add(extra);
  }
  return scripts;
}

/**
 * Whether `name` is written in a single script (UTS #39 §5.2, see the module comment): true for
 * `alice`, `Алиса`, `山田たろう`, `bob_42`, `🎉`; false for `аlice` (Cyrillic а, Latin lice).
 */
export function isSingleScript(name: string): boolean {
  // Fast path: ASCII is Latin letters and Common characters.
  if (/^[\x00-\x7f]*$/.test(name)) return true;
  let common: Set<string> | undefined;
  for (const char of name) {
    const scripts = scriptsOf(char);
    if (scripts === undefined) continue;
    if (common === undefined) {
      common = scripts;
    } else {
      for (const script of common) if (!scripts.has(script)) common.delete(script);
    }
    if (common.size === 0) return false;
  }
  return true;
}
