import type { Command } from '../command.js';
import { idParse } from './id.js';
import { svidVerify } from './svid-verify.js';

export const commands: readonly Command[] = [idParse, svidVerify] as unknown as Command[];
