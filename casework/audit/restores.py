"""The audit trail's side of a restore from a backup (casework/core/backup.py).

A restored database's chain ends where the backup's did, at #N, while the signed checkpoints
outside it may have seen it go further: to `audit verify` that is entries cut off the end. The
restore says what happened, twice: an entry in the chain, "restored at #N from the backup taken
at T", carrying a signature under the checkpoint key; and a signed restore line in the checkpoint
file naming #N and that entry. Both need the key, so someone with the database alone can make
neither, and a truncation without them is still reported as one. `audit verify` then reports
the range the restore left behind as a known gap.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db import transaction

from casework.audit import checkpoints
from casework.audit.chain import RESTORED, entry_mac
from casework.audit.log import append, entry
from casework.audit.models import AuditEntry, AuditHead
from casework.audit.sealing import _last_checkpoint, _seal_batch
from casework.vault.keys import audit_key


@dataclass(frozen=True)
class Marked:
    seq: int  # the last entry the backup held
    event_seq: int  # the restore's own entry
    restore: checkpoints.Restore


def mark_restored(*, backup_taken_at: str) -> Marked:
    """Append and seal the restore's entry onto the restored chain, then write the restore line.

    The sealer's guard is not asked: the checkpoints still name the history the restore left
    behind, which is exactly what the restore line written here puts aside. Entries the backup
    held unsealed are sealed first, in their order, as the worker would have.
    """
    key = audit_key()
    with transaction.atomic():
        head = AuditHead.objects.select_for_update().filter(pk=1).first()
        kept_seq, kept_hash = (head.seq, head.hash) if head is not None else (0, "0" * 64)
        made = entry(
            RESTORED,
            by=None,
            data={"restored_at_seq": kept_seq, "backup_taken_at": backup_taken_at},
        )
        made.data["sig"] = checkpoints.restore_event_signature(
            seq=kept_seq,
            backup_taken_at=backup_taken_at,
            at=made.at.isoformat(timespec="microseconds"),
        )
        made.mac = entry_mac(made, key)
        append([made])
        while _seal_batch(2000, key).count:
            pass
    sealed = AuditEntry.objects.values_list("seq", "hash").get(pk=made.pk)
    event_seq = sealed[0] or 0
    restore = checkpoints.write_restore(
        seq=kept_seq,
        chain_hash=kept_hash,
        event_seq=event_seq,
        event_hash=sealed[1],
        backup_taken_at=backup_taken_at,
    )
    # The sealer's next checkpoint follows on from the restore line, whatever it wrote before.
    _last_checkpoint.update(seq=-1)
    return Marked(kept_seq, event_seq, restore)
