/** Entry of the operator console (served at /console, bundled by esbuild: see build-config.mjs). */
import { render } from 'preact';
import { App } from './app.tsx';
import './console.css';

render(<App />, document.getElementById('app')!);
