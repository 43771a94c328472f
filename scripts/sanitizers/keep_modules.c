/* Preloaded (LD_PRELOAD) into the processes of the ASan test pass: dlclose does nothing, so
 * the shared objects Open MPI loads for its components (mca_*.so) stay mapped until exit.
 * LeakSanitizer checks at exit; frames in a module unloaded by then print as
 * "<unknown module>" and no suppression in lsan.supp can name them. Only Open MPI's
 * leaks are suppressed that way; ecps's own are reported. */
int dlclose(void* handle) {
  (void)handle;
  return 0;
}
