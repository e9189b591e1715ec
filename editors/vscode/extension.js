// The specc extension: the TextMate grammar colours .cnn files; this client starts
// `specc lsp` over stdio for everything else (diagnostics, hover, inlay hints,
// completion, go to definition, outline, formatting).
"use strict";

const vscode = require("vscode");
const { LanguageClient, TransportKind } = require("vscode-languageclient/node");

let client;

function activate(context) {
  const config = vscode.workspace.getConfiguration("specc");
  const command = config.get("server.command", "specc");
  const args = config.get("server.args", ["lsp"]);
  const serverOptions = {
    run: { command, args, transport: TransportKind.stdio },
    debug: { command, args, transport: TransportKind.stdio },
  };
  const clientOptions = {
    documentSelector: [
      { scheme: "file", language: "cnn" },
      { scheme: "untitled", language: "cnn" },
    ],
    outputChannelName: "specc",
  };
  client = new LanguageClient("specc", "specc language server", serverOptions, clientOptions);
  context.subscriptions.push(
    vscode.workspace.onDidChangeConfiguration((event) => {
      if (event.affectsConfiguration("specc.server")) {
        vscode.window.showInformationMessage("specc: reload the window to restart the server");
      }
    })
  );
  return client.start().catch((error) => {
    vscode.window.showErrorMessage(
      `specc: cannot start \`${command} ${args.join(" ")}\` (${error.message}). ` +
        "Install it with pip install 'specc[lsp]', or set specc.server.command."
    );
  });
}

function deactivate() {
  return client ? client.stop() : undefined;
}

module.exports = { activate, deactivate };
