/// Signals while the editor runs (signal(7)): the handlers only write the signal number to the
/// self-pipe; the loop thread then does the readline work (clear the line, resize, suspend).
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import CReadline
import Synchronization

extension LineEditor {
    func handleSignal(_ signo: Int32) {
        // ^C leaves a line, a resize may reflow the screen, fg redraws: rows no longer add up.
        printedRows.forgetAll()
        switch signo {
        case SIGINT:
            guard handlerInstalled else { return }
            wipeSecretBytes()
            // Like a shell: abandon the line, show ^C, fresh prompt. At a question, cancel it.
            rl_free_line_state()
            rl_callback_sigcleanup()
            tern_rl_set_point(tern_rl_end())
            rl_redisplay()
            fputs("^C", tern_rl_outstream())
            _ = rl_crlf()
            rl_replace_line("", 1)
            tern_rl_set_point(0)
            using_history()
            cancelShownQuestion()
            redrawAfterQuestion()
        case SIGWINCH:
            if handlerInstalled { rl_resize_terminal() }
        case SIGTSTP:
            suspend()
        case SIGTERM, SIGHUP:
            endReason = .signal(signo)
        default:
            break
        }
    }

    /// Ctrl-Z: give the terminal back in its original mode, stop, and redraw on `fg`.
    func suspend() {
        if handlerInstalled {
            tern_rl_set_point(tern_rl_end())
            rl_redisplay()
            _ = rl_crlf()
            fflush(tern_rl_outstream())
            rl_deprep_terminal()
        }
        SignalRoute.stopProcess()
        if handlerInstalled {
            rl_prep_terminal(1)
            _ = rl_forced_update_display()
        }
    }
}

/// Routes signals to the loop: the handler only writes the signal number to the self-pipe.
enum SignalRoute {
    /// Write end of the running editor's self-pipe, or -1. Atomic so the handler may read it.
    static let wakeFD = Atomic<Int32>(-1)
    static let handled: [Int32] = [SIGINT, SIGWINCH, SIGTSTP, SIGTERM, SIGHUP]

    struct Saved {
        var entries: [(Int32, sigaction)]
    }

    static func install(wakeFD fd: Int32) -> Saved {
        wakeFD.store(fd, ordering: .releasing)
        var saved = Saved(entries: [])
        for signo in handled {
            var old = sigaction()
            guard sigaction(signo, nil, &old) == 0 else { continue }
            // A signal ignored by our parent (nohup, background job) stays ignored.
            if isIgnored(old) { continue }
            var action = sigaction()
            action.__sigaction_handler.sa_handler = signalHandler
            sigemptyset(&action.sa_mask)
            action.sa_flags = SA_RESTART
            if sigaction(signo, &action, nil) == 0 {
                saved.entries.append((signo, old))
            }
        }
        return saved
    }

    static func restore(_ saved: Saved) {
        for (signo, old) in saved.entries {
            var previous = old
            _ = sigaction(signo, &previous, nil)
        }
        wakeFD.store(-1, ordering: .releasing)
    }

    /// Stops the process with the default SIGTSTP action, returning after SIGCONT.
    static func stopProcess() {
        var ours = sigaction()
        var defaultAction = sigaction()
        defaultAction.__sigaction_handler.sa_handler = nil  // SIG_DFL
        sigemptyset(&defaultAction.sa_mask)
        guard sigaction(SIGTSTP, &defaultAction, &ours) == 0 else { return }
        _ = raise(SIGTSTP)
        _ = sigaction(SIGTSTP, &ours, nil)
    }

    private static func isIgnored(_ action: sigaction) -> Bool {
        guard let handler = action.__sigaction_handler.sa_handler else { return false }
        return unsafeBitCast(handler, to: Int.self) == 1  // SIG_IGN
    }
}

/// Async-signal-safe: an atomic load and write(2), errno preserved.
private let signalHandler: @convention(c) (Int32) -> Void = { signo in
    let savedErrno = errno
    let fd = SignalRoute.wakeFD.load(ordering: .acquiring)
    if fd >= 0 {
        var byte = UInt8(truncatingIfNeeded: signo)
        _ = write(fd, &byte, 1)
    }
    errno = savedErrno
}
