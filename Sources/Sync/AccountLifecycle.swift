import Foundation
import Store
import XMPP

/// Creating, deleting and re-keying accounts on the server (XEP-0077), with the Store kept
/// in step: nothing is stored unless the server said yes.
public enum AccountLifecycle {
    /// A verified-TLS, unauthenticated stream holding the server's registration form.
    public struct RegistrationSession: Sendable {
        public let form: Registration.Form
        let connection: Connection
        let account: Account

        /// Submits the answers. On success the stream is closed; log in with `Login.login`.
        public func submit(_ values: [String: String]) async throws {
            let id = await connection.nextID()
            do {
                _ = try await connection.request(Registration.submission(form, values: values, id: id))
            } catch let error as StanzaError {
                await connection.close()
                throw Registration.RegistrationError(error, during: .submit)
            } catch {
                await connection.close()
                throw error
            }
            await connection.close()
        }

        public func cancel() async {
            await connection.close()
        }
    }

    /// Opens a registration stream (TLS verified exactly as for a login) and fetches the form.
    public static func beginRegistration(account: Account) async throws -> RegistrationSession {
        var configuration = try SyncEngine.configuration(for: account, credential: .password(""))
        configuration.purpose = .register
        let connection = Connection(configuration: configuration)
        _ = try await connection.connectForRegistration()
        do {
            let reply = try await connection.request(Registration.formRequest(id: await connection.nextID()))
            let form = try Registration.parseForm(reply)
            return RegistrationSession(form: form, connection: connection, account: account)
        } catch let error as StanzaError {
            await connection.close()
            throw Registration.RegistrationError(error, during: .form)
        } catch {
            await connection.close()
            throw error
        }
    }

    /// Deletes the account on the server (XEP-0077 §3.2), then marks it deleted here so no
    /// process reconnects it; with `purge`, local history goes too.
    ///
    /// A server may close the stream instead of answering (ejabberd does): that counts as
    /// success once a fresh login with the old credentials is refused.
    public static func unregister(store: Store, account: Account, purge: Bool) async throws {
        let engine = SyncEngine(store: store, account: account)
        _ = try await engine.connect()
        var confirmed = false
        do {
            _ = try await engine.request(Registration.removal(id: UUID().uuidString.lowercased()))
            confirmed = true
        } catch let error as StanzaError {
            await engine.disconnect()
            throw Registration.RegistrationError(error, during: .removal)
        } catch is ConnectionError {
            confirmed = false  // closed without an answer: check below
        }
        await engine.disconnect()
        if !confirmed {
            let probe = SyncEngine(store: store, account: account)
            do {
                _ = try await probe.connect()
                await probe.disconnect()
                throw SyncError.removalUnconfirmed(account.jid)
            } catch let error as ConnectionError {
                guard case .negotiation(.authenticationFailed) = error else { throw error }
            }
        }
        try store.markDeleted(accountID: account.rowID, purge: purge)
    }

    /// Changes the password on the server (XEP-0077 §3.3), then logs in with the new one so
    /// the stored SCRAM keys match it.
    public static func changePassword(store: Store, account: Account, newPassword: String) async throws {
        guard let username = try JID(account.jid).local else { throw SyncError.invalidRecipient("\(account.jid) has no user part") }
        let engine = SyncEngine(store: store, account: account)
        _ = try await engine.connect()
        do {
            _ = try await engine.request(Registration.passwordChange(
                username: username, newPassword: newPassword, id: UUID().uuidString.lowercased()))
        } catch let error as StanzaError {
            await engine.disconnect()
            throw Registration.RegistrationError(error, during: .passwordChange)
        }
        await engine.disconnect()
        let remembered = try store.credential(accountID: account.rowID)?.kind == .password
        _ = try await Login.login(store: store, account: account, password: newPassword, remember: remembered)
    }
}
