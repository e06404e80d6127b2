/**
 * Run by the loader as it evaluates, before the studio is defined: marks each studio
 * whose shopper has remembered pictures (`has-recent`), so that the page's
 * `:not(:defined)` rule reserves the gallery's row as well (README, layout shift).
 */
import { markRemembered } from './recent-results.js';

for (const studio of document.getElementsByTagName('atelier-studio')) markRemembered(studio);
