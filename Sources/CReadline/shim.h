/* GNU Readline 8.x callback interface, seen from Swift.
 *
 * Swift 6 rejects direct use of readline's mutable globals (they are shared
 * mutable state it cannot check), so every global tern touches gets a
 * static inline accessor here. LineEditor calls them only from the thread
 * that runs its loop. <stdio.h> must come before readline.h (it uses FILE). */
#ifndef TERN_CREADLINE_SHIM_H
#define TERN_CREADLINE_SHIM_H

#include <stdio.h>
#include <readline/readline.h>
#include <readline/history.h>

/* Line buffer and cursor (byte offsets into rl_line_buffer). */
static inline const char *tern_rl_line_buffer(void) { return rl_line_buffer; }
static inline int tern_rl_point(void) { return rl_point; }
static inline int tern_rl_end(void) { return rl_end; }
static inline void tern_rl_set_point(int point) { rl_point = point; }

/* Streams: readline defaults to stdin/stdout when these are NULL. */
static inline void tern_rl_set_instream(FILE *f) { rl_instream = f; }
static inline void tern_rl_set_outstream(FILE *f) { rl_outstream = f; }
static inline FILE *tern_rl_outstream(void) { return rl_outstream ? rl_outstream : stdout; }
static inline FILE *tern_stdin(void) { return stdin; }
static inline FILE *tern_stdout(void) { return stdout; }

/* Name used for $if conditionals in ~/.inputrc. The literal has static storage. */
static inline void tern_rl_set_readline_name_tern(void) { rl_readline_name = "tern"; }

/* Signals: tern installs its own handlers and does the work on its loop thread. */
static inline void tern_rl_set_catch_signals(int on) { rl_catch_signals = on; }
static inline void tern_rl_set_catch_sigwinch(int on) { rl_catch_sigwinch = on; }
/* Stop readline from calling setenv(LINES/COLUMNS): setenv races with getenv on other threads. */
static inline void tern_rl_set_change_environment(int on) { rl_change_environment = on; }

/* Readline puts the terminal back in cooked mode (echo on) around every line handler call.
 * Keys typed ahead that the kernel processes in that window are echoed: a password typed
 * right after its command would show. With no deprep function the terminal stays in
 * readline's mode from install to the end of the run; LineEditor deprepares it itself. */
static inline void tern_rl_keep_terminal_prepared(int keep) {
    rl_deprep_term_function = keep ? NULL : rl_deprep_terminal;
}

/* Completion. */
static inline void tern_rl_set_attempted_completion_function(rl_completion_func_t *f) {
    rl_attempted_completion_function = f;
}
static inline void tern_rl_set_attempted_completion_over(int over) { rl_attempted_completion_over = over; }
static inline void tern_rl_set_completion_append_character(int c) { rl_completion_append_character = c; }
/* Only blanks separate words, so JIDs (with '@', '/') and nicks complete as one word. */
static inline void tern_rl_set_blank_word_breaks(void) {
    rl_basic_word_break_characters = " \t\n";
    rl_completer_word_break_characters = " \t\n";
}

/* The prompt readline shows now (a newer one may be waiting to be set). */
static inline const char *tern_rl_prompt(void) { return rl_prompt; }

/* Whether the last key's command drew outside the input line: a cleared screen or a
 * completion listing (LineMarks then forgets the rows it counted). */
static inline int tern_rl_last_func_redraws(void) {
    rl_command_func_t *f = rl_last_func;
    return f == rl_clear_screen || f == rl_clear_display || f == rl_complete || f == rl_possible_completions
        || f == rl_insert_completions || f == rl_menu_complete || f == rl_backward_menu_complete
        || f == rl_old_menu_complete;
}

/* Tab: complete, then list, then cycle (like readline's complete and menu-complete). Readline
 * records the function bound to the last key in rl_last_func; tern's Tab function reads it to
 * tell a repeated Tab, and sets it to rl_menu_complete so that one keeps cycling. */
static inline int tern_rl_last_func_is(rl_command_func_t *f) { return rl_last_func == f; }
static inline void tern_rl_set_last_func_menu_complete(void) { rl_last_func = rl_menu_complete; }
static inline void tern_rl_forget_last_func(void) { rl_last_func = 0; }
static inline void tern_rl_set_completion_suppress_append(int on) { rl_completion_suppress_append = on; }

/* Key bindings: which sequence invoked the bound function (its key alone is ambiguous). */
static inline const char *tern_rl_executing_keyseq(void) { return rl_executing_keyseq; }
static inline int tern_rl_key_sequence_length(void) { return rl_key_sequence_length; }

/* History bookkeeping. */
static inline int tern_history_length(void) { return history_length; }
static inline int tern_history_base(void) { return history_base; }

#endif
