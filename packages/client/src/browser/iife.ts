// The classic script (`<script src="…/v2/js/opentok.js">`): defines the global `OT`, whose
// sessions connect to the server that served the script.
import { OTNamespace } from '../ot/OT.js';
import { apiUrlOf } from './apiUrl.js';

const script = document.currentScript;
const src = script instanceof HTMLScriptElement && script.src !== '' ? script.src : undefined;

(globalThis as { OT?: OTNamespace }).OT = new OTNamespace(src === undefined ? undefined : apiUrlOf(src));
