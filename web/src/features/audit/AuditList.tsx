/** The audit trail, filtered (by target, actor or resource), newest first. (Placeholder: the contract.) */
export function AuditList({
  filter,
}: {
  filter: { targetId?: string; actorId?: string; resourceId?: string; action?: string };
  compact?: boolean;
}) {
  return <p>{JSON.stringify(filter)}</p>;
}
