import type { Token } from '../../api/client';
import { AppDialog } from '../../components/ui';

/** Edit a token's name, description, permissions, API groups, expiry and logging. (Placeholder: the contract.) */
export function EditTokenDialog({ token, isOpen, onClose }: { token: Token; isOpen: boolean; onClose: () => void }) {
  return (
    <AppDialog title={token.name} isOpen={isOpen} onOpenChange={(open) => !open && onClose()}>
      <p>{token.id}</p>
    </AppDialog>
  );
}
