// The ES module (`import OT from '…/v2/js/opentok.esm.js'`): its sessions connect to the
// server that served the module.
import { OTNamespace } from '../ot/OT.js';
import { apiUrlOf } from './apiUrl.js';

const OT = new OTNamespace(apiUrlOf(import.meta.url));

export default OT;
export { OT };
