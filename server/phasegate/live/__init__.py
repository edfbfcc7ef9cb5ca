"""The live core: a workspace's gates kept up to date as its files change.

Every face that stays up while files change shares it: the language server
(:mod:`phasegate.lsp`), ``phasegate watch`` (:mod:`phasegate.commands.watch`), and any
long-lived agent face. Nothing here knows about editors, terminals or agents: a face
gives a :class:`~phasegate.live.core.LiveListener` and is told which displayed files and
which statuses changed.

==================  ====================================================================
module              responsibility
==================  ====================================================================
``options``         :class:`LiveOptions`: trust, interpreter, throttling, what runs when
``engine``          :class:`Engine`: workspace, config (the last good one kept), runner,
                    result cache, live results, new-code reference, where findings about
                    missing files are shown
``results``         :class:`LiveResults`: every check's last result, findings per
                    displayed file; per-file deltas (only changed files re-analysed),
                    worker-side compute, loop-side commit
``scheduler``       :class:`Scheduler`: changed paths -> exactly the matching checks;
                    throttling, jobs, cancellation, result-cache flush
``core``            :class:`LiveCore`: the lifecycle (load, verify, refresh, config
                    reload, new-code adoption) over an engine and a scheduler
``watch``           :class:`FileWatcher`: changed files from ``watchfiles``, or by polling
``delta``           :class:`DeltaTracker`: findings added/removed per file and gate
                    changes since a face last reported
==================  ====================================================================

Content hashes all go through :meth:`phasegate.cache.ResultCache.content_hash` (via
:meth:`phasegate.runner.GateRunner.content_hash`): one memo, by stat signature, shared
with ``validate`` and persisted in the cache.
"""
