import type { Token } from '../../api/client';
import { AppDialog } from '../../components/ui';

/** (Placeholder: the contract other pages rely on.) */
export function DeleteTokenDialog({ token, isOpen, onClose }: { token: Token; isOpen: boolean; onClose: () => void }) {
  return (
    <AppDialog title={token.name} isOpen={isOpen} onOpenChange={(open) => !open && onClose()}>
      <p>{token.id}</p>
    </AppDialog>
  );
}
