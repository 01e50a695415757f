// Workspace trust: in an untrusted workspace SeRL Studio starts no process (no controller, no export, no
// PyTorch check); the commands that would say why and offer to manage trust. Reading runs and validating
// seed files go on.
import * as vscode from 'vscode';

/** True when the workspace is trusted; otherwise tells the user that `action` needs trust, and returns false. */
export function requireTrust(action: string): boolean {
  if (vscode.workspace.isTrusted) return true;
  const message =
    `SeRL: ${action} needs a trusted workspace: it starts processes (the serl controller and a Python worker) ` +
    'that read and run this workspace\'s files. Trust the workspace to enable it.';
  void vscode.window.showWarningMessage(message, 'Manage Workspace Trust').then((choice) => {
    if (choice) void vscode.commands.executeCommand('workbench.trust.manage');
  });
  return false;
}
