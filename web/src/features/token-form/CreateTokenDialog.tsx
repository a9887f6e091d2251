import { AppDialog } from '../../components/ui';

/**
 * "Add API Token" on a resource: the whole form, a summary before Add, then the key shown once.
 * (Placeholder: the contract the resource page relies on.)
 */
export function CreateTokenDialog({
  resourceId,
  resourceName,
  isOpen,
  onClose,
}: {
  resourceId: string;
  resourceName: string;
  isOpen: boolean;
  onClose: () => void;
}) {
  return (
    <AppDialog title={`Add API Token — ${resourceName}`} isOpen={isOpen} onOpenChange={(open) => !open && onClose()}>
      <p>{resourceId}</p>
    </AppDialog>
  );
}
