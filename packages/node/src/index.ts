export { init, captureException, captureMessage, flush, close } from './init.js'
export type { BeforeSend, Context, TacitErrorEvent, TacitNodeClient, TacitNodeOptions } from './types.js'
