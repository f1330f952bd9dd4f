// The inline build embeds the WebAssembly as base64 (needed for the single-file esbuild bundle)
// and ships no typings of its own: it has exactly the API of the default 'sql.js' entry point.
declare module 'sql.js/dist/sql-wasm-inline.js' {
  import initSqlJs = require('sql.js');
  export = initSqlJs;
}
