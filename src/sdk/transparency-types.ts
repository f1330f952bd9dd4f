/** Wire types of key transparency (`--transparency` servers). */

/** The `transparency` member of bundle, verify and shared-secret answers, and an anchor receipt's body. */
export interface TransparencyProof {
  /** The signed checkpoint: a C2SP tlog-checkpoint signed-note, with any witness cosignatures. */
  checkpoint: string;
  leafIndex: number;
  /** The leaf bytes, base64 (`prekeyd/leaf/v1` text). */
  leaf: string;
  /** RFC 6962 audit path of the leaf, base64 hashes. */
  inclusionProof: string[];
}

/** What `POST /v1/anchors` answers: the anchored hash and its proof. */
export interface Anchor extends TransparencyProof {
  hash: string;
}
