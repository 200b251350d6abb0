/** The --secret option's help; the secret itself is read by onode/config/overlay-secret.ts. */
import { SECRET_ENV } from '../config/overlay-secret.ts';

export const SECRET_HELP =
  `file holding the overlay secret every node of the overlay shares (default: $${SECRET_ENV}); ` +
  'make one with: onode secret > overlay.secret';
