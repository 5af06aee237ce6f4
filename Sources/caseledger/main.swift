import CaseLedgerCLI
import Foundation

exit(CaseLedgerCommand.run(arguments: Array(CommandLine.arguments.dropFirst())))
