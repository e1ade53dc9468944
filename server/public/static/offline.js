// The offline checker: verifies a document seal (protocol/seal.py) against the issuer
// keys embedded in this page, with the browser's own Ed25519 (WebCrypto).  No network.
"use strict";
(function () {
  const data = JSON.parse(document.getElementById("seal-data").textContent);
  const B32 = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
  const DOMAIN = new TextEncoder().encode(data.domain);
  const out = document.getElementById("result");
  const say = (key, tone, facts) => {
    out.hidden = false;
    out.className = "verdict verdict-" + tone;
    out.dataset.state = key;
    document.getElementById("result-text").textContent = data.text[key];
    const list = document.getElementById("result-facts");
    list.replaceChildren();
    for (const [label, value] of facts || []) {
      const row = document.createElement("div");
      const dt = document.createElement("dt");
      const dd = document.createElement("dd");
      dt.textContent = label;
      dd.textContent = value;
      row.append(dt, dd);
      list.append(row);
    }
  };
  const unbase32 = (text) => {
    let bits = 0, value = 0;
    const bytes = [];
    for (const ch of text.toUpperCase()) {
      const at = B32.indexOf(ch);
      if (at < 0) throw new Error("base32");
      value = (value << 5) | at;
      bits += 5;
      if (bits >= 8) { bits -= 8; bytes.push((value >> bits) & 255); }
    }
    return new Uint8Array(bytes);
  };
  const tokenOf = (text) => {
    text = text.trim();
    const link = text.match(/^https?:\/\/[^/]+\/v\/([^?#/]+)/i);
    return link ? link[1] : text;
  };
  const number = (bytes) => {
    let chars = [];
    for (let i = 0; i + 1 < bytes.length; i += 2) {
      const v = (bytes[i] << 8) | bytes[i + 1];
      if (v >= 64000) throw new Error("number");
      chars.push(Math.floor(v / 1600), Math.floor(v / 40) % 40, v % 40);
    }
    while (chars.length && chars[chars.length - 1] === 0) chars.pop();
    if (!chars.length || chars.includes(0)) throw new Error("number");
    return chars.map((c) => data.alphabet[c]).join("");
  };
  const hex = (bytes) => Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
  const raw = (b64) => Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));

  async function check(text) {
    let bytes, kind, issued, num;
    try {
      const token = tokenOf(text);
      if (token.length > data.max_token) throw new Error("length");
      bytes = unbase32(token);
      if (bytes.length < 8 + 2 + 64 || bytes[0] !== data.format) throw new Error("format");
      kind = data.kinds[bytes[5]];
      if (!kind) throw new Error("kind");
      const days = (bytes[6] << 8) | bytes[7];
      const day = new Date(days * 86400000);
      issued = `${day.getUTCDate()} ${data.months[day.getUTCMonth()]} ${day.getUTCFullYear()}`;
      num = number(bytes.slice(8, bytes.length - 64));
    } catch (e) {
      return say("malformed", "bad");
    }
    const body = bytes.slice(0, bytes.length - 64);
    const signature = bytes.slice(bytes.length - 64);
    const key = data.keys[hex(bytes.slice(1, 5))];
    if (!key) return say("invalid", "bad");
    if (!(window.crypto && crypto.subtle)) return say("unsupported", "warn");
    let publicKey;
    try {
      publicKey = await crypto.subtle.importKey("raw", raw(key.key), { name: "Ed25519" }, false, ["verify"]);
    } catch (e) {
      return say("unsupported", "warn");
    }
    const signed = new Uint8Array(DOMAIN.length + body.length);
    signed.set(DOMAIN);
    signed.set(body, DOMAIN.length);
    let good = false;
    try {
      good = await crypto.subtle.verify({ name: "Ed25519" }, publicKey, signature, signed);
    } catch (e) {
      return say("unsupported", "warn");
    }
    if (!good) return say("invalid", "bad");
    say("valid", "ok", [
      [data.text.kind, kind], [data.text.number, num], [data.text.issued, issued],
      [data.text.office, key.office],
    ]);
  }

  const form = document.getElementById("checker");
  const input = document.getElementById("token");
  form.addEventListener("submit", (event) => { event.preventDefault(); check(input.value); });
  if (location.hash.length > 1) {
    input.value = decodeURIComponent(location.hash.slice(1));
    check(input.value);
  }
})();
