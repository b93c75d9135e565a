/**
 * Types of the page files `assets.ts` imports as text (esbuild's `with { type: 'text' }`): each is its
 * file's contents.
 */
declare module '*.html' {
  const text: string;
  export default text;
}
declare module '*.css' {
  const text: string;
  export default text;
}
// The page's browser script, imported as text: `./app.js` matches this pattern.
declare module '*/app.js' {
  const text: string;
  export default text;
}
