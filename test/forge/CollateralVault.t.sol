// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {TestHelperOz5} from "@layerzerolabs/test-devtools-evm-foundry/contracts/TestHelperOz5.sol";
import {OptionsBuilder} from "@layerzerolabs/oapp-evm/contracts/oapp/libs/OptionsBuilder.sol";
import {EnforcedOptionParam} from "@layerzerolabs/oapp-evm/contracts/oapp/interfaces/IOAppOptionsType3.sol";
import {IOAppCore} from "@layerzerolabs/oapp-evm/contracts/oapp/interfaces/IOAppCore.sol";
import {Origin, MessagingFee} from "@layerzerolabs/oapp-evm/contracts/oapp/OApp.sol";
import {Vm} from "forge-std/Vm.sol";
import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";
import {ReentrancyGuard} from "@openzeppelin/contracts/utils/ReentrancyGuard.sol";

import {CollateralVault} from "../../contracts/vault/CollateralVault.sol";
import {ICollateralVault} from "../../contracts/interfaces/ICollateralVault.sol";
import {XmarginOApp} from "../../contracts/common/XmarginOApp.sol";
import {MsgCodec} from "../../contracts/libraries/MsgCodec.sol";
import {MockERC20} from "../../contracts/mocks/MockERC20.sol";
import {FeeOnTransferERC20} from "../../contracts/mocks/FeeOnTransferERC20.sol";
import {ReentrantERC20} from "../../contracts/mocks/ReentrantERC20.sol";
import {EngineStub, LocalEngineStub} from "./helpers/EngineStub.sol";
import {VaultHandler} from "./helpers/VaultHandler.sol";

/// @notice A payout recipient that refuses native value until told otherwise.
contract VaultRejectingReceiver {
    bool public accept;

    function setAccept(bool accept_) external {
        accept = accept_;
    }

    receive() external payable {
        require(accept, "no thanks");
    }
}

contract CollateralVaultTest is TestHelperOz5 {
    /// @dev EndpointV2 prices every send itself and reverts with this when msg.value falls short.
    bytes4 internal constant LZ_INSUFFICIENT_FEE =
        bytes4(keccak256("LZ_InsufficientFee(uint256,uint256,uint256,uint256)"));

    using OptionsBuilder for bytes;

    uint32 internal constant A = 1; // the vault's chain (and its local engine)
    uint32 internal constant B = 2; // remote engine
    uint32 internal constant C = 3; // another remote engine
    address internal constant NATIVE = 0xEeeeeEeeeEeEeeEeEeEeeEEEeeeeEeeeeeeeEEeE;

    uint256 internal constant CAP = 1_000_000e18;
    uint128 internal constant OUTFLOW = 1_000e18;
    uint64 internal constant WINDOW = 1 days;
    /// @dev The vault keeps PENDING_LOCK_GAS back from a MOVE's onward send, and TestHelperOz5 stores every
    ///      packet sent in the test contract (~290k gas on top of a real chain's send): more than the client's
    ///      600k here for the send to go through.
    uint128 internal constant MOVE_GAS = 900_000;

    CollateralVault internal vault;
    EngineStub internal engineB;
    EngineStub internal engineC;
    LocalEngineStub internal localEngine;
    MockERC20 internal token;
    FeeOnTransferERC20 internal fot;
    ReentrantERC20 internal reent;

    address internal alice = makeAddr("alice");
    address internal bob = makeAddr("bob");
    address internal guardian = makeAddr("guardian");
    address internal stranger = makeAddr("stranger");

    bytes internal gasOptions;
    uint64 internal nonce;

    function setUp() public override {
        setExecutorValueCap(1 ether);
        super.setUp();
        setUpEndpoints(3, LibraryType.UltraLightNode);
        vm.deal(address(this), 1_000 ether);

        vault = new CollateralVault(endpoints[A], address(this));
        engineB = new EngineStub(endpoints[B], address(this));
        engineC = new EngineStub(endpoints[C], address(this));
        address[] memory oapps = new address[](3);
        oapps[0] = address(vault);
        oapps[1] = address(engineB);
        oapps[2] = address(engineC);
        wireOApps(oapps);

        localEngine = new LocalEngineStub(vault);
        vault.setLocalEngine(address(localEngine));
        vault.setGuardian(guardian);

        gasOptions = OptionsBuilder.newOptions().addExecutorLzReceiveOption(200_000, 0);
        EnforcedOptionParam[] memory enforced = new EnforcedOptionParam[](2);
        enforced[0] = EnforcedOptionParam(B, MsgCodec.LOCK, gasOptions);
        enforced[1] = EnforcedOptionParam(C, MsgCodec.LOCK, gasOptions);
        vault.setEnforcedOptions(enforced);

        token = new MockERC20("Token", "TKN", 18);
        fot = new FeeOnTransferERC20("Fee", "FEE", 18, 100);
        reent = new ReentrantERC20();
        _enable(address(token));
        _enable(address(fot));
        _enable(address(reent));
        _enable(NATIVE);
        vm.warp(block.timestamp + WINDOW); // let the outflow buckets fill

        token.mint(alice, 10_000_000e18);
        fot.mint(alice, 10_000_000e18);
        reent.mint(alice, 10_000_000e18);
        vm.deal(alice, 10_000_000 ether);
        vm.startPrank(alice);
        token.approve(address(vault), type(uint256).max);
        fot.approve(address(vault), type(uint256).max);
        reent.approve(address(vault), type(uint256).max);
        vm.stopPrank();
    }

    // ------------------------------------------------------------------ helpers

    function _config(bool enabled, uint256 cap) internal pure returns (ICollateralVault.AssetConfig memory) {
        return ICollateralVault.AssetConfig({
            enabled: enabled, supplyCap: cap, outflowCapacity: OUTFLOW, outflowWindow: WINDOW
        });
    }

    function _enable(address asset) internal {
        vault.setAssetConfig(asset, _config(true, CAP));
    }

    function _depositRemote(address asset, uint256 amount, uint96 sub, uint32 eid) internal returns (bytes32 id) {
        uint256 fee = vault.quoteDeposit(asset, amount, sub, eid, "").nativeFee;
        uint256 value = asset == NATIVE ? amount + fee : fee;
        vm.prank(alice);
        id = vault.deposit{value: value}(asset, amount, sub, eid, "");
        verifyPackets(eid, addressToBytes32(address(eid == B ? engineB : engineC)));
    }

    function _payoutMsg(uint8 kind, bytes32 id, address asset, uint256 amount, address recipient)
        internal
        view
        returns (bytes memory)
    {
        return MsgCodec.encodePayout(kind, MsgCodec.Payout(id, alice, 0, asset, amount, recipient));
    }

    /// @dev Sends `message` from `engine` to the vault and delivers it.
    function _deliver(EngineStub engine, bytes memory message, bytes memory options) internal {
        uint256 fee = engine.quote(A, message, options).nativeFee;
        engine.send{value: fee}(A, message, options);
        verifyPackets(A, addressToBytes32(address(vault)));
    }

    /// @dev Calls the vault as its endpoint would, from `sender` on `srcEid`.
    function _receiveAsEndpoint(uint32 srcEid, address sender, bytes memory message, uint256 value) internal {
        vm.deal(endpoints[A], endpoints[A].balance + value);
        vm.prank(endpoints[A]);
        vault.lzReceive{value: value}(
            Origin(srcEid, addressToBytes32(sender), ++nonce), bytes32(uint256(nonce)), message, address(0), ""
        );
    }

    function _hopFee(uint32 eid) internal view returns (uint256) {
        return vault.quoteDeposit(address(token), 1, 0, eid, "").nativeFee;
    }

    /// @dev Worst case of a payout: native call stipend, then the queue path.
    function _payoutOptions() internal pure returns (bytes memory) {
        return OptionsBuilder.newOptions().addExecutorLzReceiveOption(300_000, 0);
    }

    function _moveOptions(uint256 value) internal pure returns (bytes memory) {
        return OptionsBuilder.newOptions().addExecutorLzReceiveOption(MOVE_GAS, uint128(value));
    }

    function _assertSolvent(address asset) internal view {
        uint256 balance = asset == NATIVE ? address(vault).balance : MockERC20(asset).balanceOf(address(vault));
        assertGe(balance, vault.totalLocked(asset) + vault.totalQueued(asset), "solvency");
    }

    function _assertCreditSum(address account, uint96 sub, address asset) internal view {
        uint256 sum = vault.credit(A, account, sub, asset) + vault.credit(B, account, sub, asset)
            + vault.credit(C, account, sub, asset);
        assertEq(sum, vault.locked(account, sub, asset), "sum credit == locked");
    }

    // ------------------------------------------------------------------ deposit

    function test_deposit_remoteSendsLock() public {
        uint256 fee = vault.quoteDeposit(address(token), 100e18, 7, B, "").nativeFee;
        assertGt(fee, 0);
        vm.expectEmit(false, true, true, true, address(vault));
        emit ICollateralVault.Deposited(bytes32(0), alice, 7, address(token), 100e18, B);
        vm.prank(alice);
        bytes32 id = vault.deposit{value: fee}(address(token), 100e18, 7, B, "");
        verifyPackets(B, addressToBytes32(address(engineB)));

        assertEq(token.balanceOf(address(vault)), 100e18);
        assertEq(vault.locked(alice, 7, address(token)), 100e18);
        assertEq(vault.credit(B, alice, 7, address(token)), 100e18);
        assertEq(vault.totalLocked(address(token)), 100e18);
        assertTrue(engineB.lockSeen(id));
        MsgCodec.Lock memory lock = engineB.lastLock();
        assertEq(lock.account, alice);
        assertEq(lock.subaccount, 7);
        assertEq(lock.token, address(token));
        assertEq(lock.amount, 100e18);
    }

    function test_deposit_localCallsEngine() public {
        vm.prank(alice);
        bytes32 id = vault.deposit(address(token), 50e18, 1, A, "");
        assertEq(localEngine.lockCount(), 1);
        assertEq(localEngine.lastLock().id, id);
        assertEq(localEngine.lastLock().amount, 50e18);
        assertEq(vault.credit(A, alice, 1, address(token)), 50e18);
        assertEq(vault.quoteDeposit(address(token), 50e18, 1, A, "").nativeFee, 0);
    }

    function test_deposit_localEngineRevertRevertsAll() public {
        localEngine.setRefuse(true);
        vm.prank(alice);
        vm.expectRevert(LocalEngineStub.Refused.selector);
        vault.deposit(address(token), 50e18, 1, A, "");
        assertEq(vault.totalLocked(address(token)), 0);
        assertEq(token.balanceOf(address(vault)), 0);
    }

    function test_deposit_revertsOnZeroAmount() public {
        vm.prank(alice);
        vm.expectRevert(ICollateralVault.ZeroAmount.selector);
        vault.deposit(address(token), 0, 0, A, "");
    }

    /// @dev A token that delivers nothing (here: a 100 % transfer fee) must not mint credit or send a LOCK.
    function test_deposit_revertsWhenNothingArrives() public {
        FeeOnTransferERC20 allFee = new FeeOnTransferERC20("All fee", "ALL", 18, 10_000);
        _enable(address(allFee));
        allFee.mint(alice, 1e18);
        vm.startPrank(alice);
        allFee.approve(address(vault), 1e18);
        vm.expectRevert(ICollateralVault.ZeroAmount.selector);
        vault.deposit(address(allFee), 1e18, 0, A, "");
        vm.stopPrank();
        assertEq(localEngine.lockCount(), 0);
    }

    function test_deposit_revertsWhenAssetNotEnabled() public {
        MockERC20 other = new MockERC20("Other", "OTH", 6);
        vm.prank(alice);
        vm.expectRevert(abi.encodeWithSelector(ICollateralVault.AssetNotEnabled.selector, address(other)));
        vault.deposit(address(other), 1, 0, A, "");

        vault.setAssetConfig(address(token), _config(false, CAP));
        vm.prank(alice);
        vm.expectRevert(abi.encodeWithSelector(ICollateralVault.AssetNotEnabled.selector, address(token)));
        vault.deposit(address(token), 1, 0, A, "");
    }

    function test_deposit_revertsWhenPaused() public {
        vm.prank(guardian);
        vault.setDepositsPaused(true);
        vm.prank(alice);
        vm.expectRevert(ICollateralVault.DepositsArePaused.selector);
        vault.deposit(address(token), 1e18, 0, A, "");

        vm.prank(guardian);
        vault.setDepositsPaused(false);
        vm.prank(alice);
        vault.deposit(address(token), 1e18, 0, A, "");
        assertEq(vault.totalLocked(address(token)), 1e18);
    }

    function test_deposit_revertsAboveSupplyCap() public {
        vault.setAssetConfig(address(token), _config(true, 100e18));
        vm.startPrank(alice);
        vault.deposit(address(token), 60e18, 0, A, "");
        vm.expectRevert(
            abi.encodeWithSelector(ICollateralVault.SupplyCapExceeded.selector, address(token), 120e18, 100e18)
        );
        vault.deposit(address(token), 60e18, 0, A, "");
        vm.stopPrank();
    }

    function test_deposit_supplyCapCountsReceivedAmount() public {
        // 1% fee: 101 sent, 99.99 received fits a cap of 100.
        vault.setAssetConfig(address(fot), _config(true, 100e18));
        vm.prank(alice);
        vault.deposit(address(fot), 101e18, 0, A, "");
        assertEq(vault.totalLocked(address(fot)), 99.99e18);
    }

    function test_deposit_revertsOnNativeAmountMismatch() public {
        vm.prank(alice);
        vm.expectRevert(abi.encodeWithSelector(ICollateralVault.WrongNativeAmount.selector, 1 ether - 1, 1 ether));
        vault.deposit{value: 1 ether - 1}(NATIVE, 1 ether, 0, B, "");

        vm.prank(alice);
        vm.expectRevert(abi.encodeWithSelector(ICollateralVault.WrongNativeAmount.selector, 1 ether + 1, 1 ether));
        vault.deposit{value: 1 ether + 1}(NATIVE, 1 ether, 0, A, "");
    }

    function test_deposit_revertsOnValueWithLocalTokenDeposit() public {
        vm.prank(alice);
        vm.expectRevert(abi.encodeWithSelector(ICollateralVault.NativeValueOnTokenDeposit.selector, 1, 0));
        vault.deposit{value: 1}(address(token), 1e18, 0, A, "");
    }

    function test_deposit_revertsWhenFeeNotCovered() public {
        uint256 fee = vault.quoteDeposit(address(token), 1e18, 0, B, "").nativeFee;
        vm.prank(alice);
        vm.expectPartialRevert(LZ_INSUFFICIENT_FEE);
        vault.deposit{value: fee - 1}(address(token), 1e18, 0, B, "");

        // Native: what is above the amount is the budget.
        vm.prank(alice);
        vm.expectPartialRevert(LZ_INSUFFICIENT_FEE);
        vault.deposit{value: 1 ether}(NATIVE, 1 ether, 0, B, "");
    }

    function test_deposit_refundsExcessFee() public {
        uint256 fee = vault.quoteDeposit(address(token), 1e18, 0, B, "").nativeFee;
        uint256 before = alice.balance;
        vm.prank(alice);
        vault.deposit{value: fee + 1 ether}(address(token), 1e18, 0, B, "");
        assertEq(alice.balance, before - fee);
        assertEq(address(vault).balance, 0);
    }

    function test_deposit_revertsForUnknownEngine() public {
        vm.prank(alice);
        vm.expectRevert(abi.encodeWithSelector(IOAppCore.NoPeer.selector, uint32(99)));
        vault.deposit(address(token), 1e18, 0, 99, "");

        CollateralVault bare = new CollateralVault(endpoints[A], address(this));
        bare.setAssetConfig(address(token), _config(true, CAP));
        vm.prank(alice);
        vm.expectRevert(abi.encodeWithSelector(ICollateralVault.NoEngineAt.selector, A));
        bare.deposit(address(token), 1e18, 0, A, "");
    }

    function test_deposit_feeOnTransferCreditsDelta() public {
        bytes32 id = _depositRemote(address(fot), 100e18, 0, B);
        assertEq(fot.balanceOf(address(vault)), 99e18);
        assertEq(vault.locked(alice, 0, address(fot)), 99e18);
        assertEq(vault.credit(B, alice, 0, address(fot)), 99e18);
        assertTrue(engineB.lockSeen(id));
        assertEq(engineB.lastLock().amount, 99e18);
    }

    function test_deposit_nativeThenRelease() public {
        _depositRemote(NATIVE, 5 ether, 0, B);
        assertEq(address(vault).balance, 5 ether);
        assertEq(vault.credit(B, alice, 0, NATIVE), 5 ether);
        assertEq(engineB.lastLock().amount, 5 ether);

        _deliver(engineB, _payoutMsg(MsgCodec.RELEASE, keccak256("r1"), NATIVE, 2 ether, bob), _payoutOptions());
        assertEq(bob.balance, 2 ether);
        assertEq(address(vault).balance, 3 ether);
        assertEq(vault.locked(alice, 0, NATIVE), 3 ether);
        _assertSolvent(NATIVE);
    }

    function test_deposit_reentrantTokenCannotReenter() public {
        reent.arm(address(vault), abi.encodeCall(vault.deposit, (address(reent), 1e18, 0, A, "")));
        vm.prank(alice);
        vault.deposit(address(reent), 10e18, 0, A, "");
        assertFalse(reent.attackSucceeded());
        assertEq(bytes4(reent.attackRevertData()), ReentrancyGuard.ReentrancyGuardReentrantCall.selector);
        assertEq(vault.totalLocked(address(reent)), 10e18);
        assertEq(localEngine.lockCount(), 1);
    }

    // ------------------------------------------------------------------ lzReceive: RELEASE / SEIZE

    function test_lzReceive_releasePaysRecipient() public {
        _depositRemote(address(token), 100e18, 0, B);
        bytes32 id = keccak256("release");
        vm.recordLogs();
        _deliver(engineB, _payoutMsg(MsgCodec.RELEASE, id, address(token), 40e18, bob), _payoutOptions());
        Vm.Log memory log = _vaultLog(ICollateralVault.PaidOut.selector);
        assertEq(log.topics[1], id);
        assertEq(log.topics[2], bytes32(uint256(uint160(alice))));
        assertEq(log.topics[3], bytes32(uint256(uint160(bob))));
        assertEq(log.data, abi.encode(MsgCodec.RELEASE, uint96(0), address(token), 40e18, B));

        assertEq(token.balanceOf(bob), 40e18);
        assertEq(vault.locked(alice, 0, address(token)), 60e18);
        assertEq(vault.credit(B, alice, 0, address(token)), 60e18);
        assertEq(vault.totalLocked(address(token)), 60e18);
        assertTrue(vault.processed(id));
    }

    function test_lzReceive_seizePaysLiquidator() public {
        _depositRemote(address(token), 100e18, 0, B);
        bytes32 id = keccak256("seize");
        _deliver(engineB, _payoutMsg(MsgCodec.SEIZE, id, address(token), 100e18, stranger), _payoutOptions());
        assertEq(token.balanceOf(stranger), 100e18);
        assertEq(vault.locked(alice, 0, address(token)), 0);
    }

    function test_lzReceive_releaseWorksWhilePaused() public {
        _depositRemote(address(token), 100e18, 0, B);
        vm.prank(guardian);
        vault.setDepositsPaused(true);
        vault.setAssetConfig(address(token), _config(false, CAP));
        _deliver(engineB, _payoutMsg(MsgCodec.RELEASE, keccak256("p"), address(token), 10e18, bob), _payoutOptions());
        assertEq(token.balanceOf(bob), 10e18);
    }

    function test_lzReceive_revertsFromUntrustedPeer() public {
        _depositRemote(address(token), 100e18, 0, B);
        bytes memory message = _payoutMsg(MsgCodec.RELEASE, keccak256("evil"), address(token), 100e18, stranger);
        vm.prank(endpoints[A]);
        vm.expectRevert(abi.encodeWithSelector(IOAppCore.OnlyPeer.selector, B, addressToBytes32(stranger)));
        vault.lzReceive(Origin(B, addressToBytes32(stranger), 1), bytes32(0), message, address(0), "");

        // Only the endpoint may call at all.
        vm.prank(stranger);
        vm.expectRevert();
        vault.lzReceive(Origin(B, addressToBytes32(address(engineB)), 1), bytes32(0), message, address(0), "");
        assertEq(token.balanceOf(stranger), 0);
    }

    function test_lzReceive_revertsOnUnknownMessageType() public {
        bytes memory message = abi.encodePacked(MsgCodec.VERSION, uint8(9), abi.encode(uint256(1)));
        vm.expectRevert(abi.encodeWithSelector(ICollateralVault.UnknownMessageType.selector, uint8(9)));
        _receiveAsEndpoint(B, address(engineB), message, 0);

        // A LOCK is never addressed to a vault.
        bytes memory lock = MsgCodec.encodeLock(MsgCodec.Lock(bytes32(0), alice, 0, address(token), 1));
        vm.expectRevert(abi.encodeWithSelector(ICollateralVault.UnknownMessageType.selector, MsgCodec.LOCK));
        _receiveAsEndpoint(B, address(engineB), lock, 0);

        bytes memory badVersion = abi.encodePacked(uint8(2), MsgCodec.RELEASE, abi.encode(uint256(1)));
        vm.expectRevert(abi.encodeWithSelector(MsgCodec.UnsupportedVersion.selector, uint8(2)));
        _receiveAsEndpoint(B, address(engineB), badVersion, 0);

        vm.expectRevert(abi.encodeWithSelector(MsgCodec.MessageTooShort.selector, uint256(1)));
        _receiveAsEndpoint(B, address(engineB), hex"01", 0);
        vm.expectRevert(abi.encodeWithSelector(MsgCodec.MessageTooShort.selector, uint256(0)));
        _receiveAsEndpoint(B, address(engineB), "", 0);
    }

    function test_lzReceive_duplicatePayoutPaysOnce() public {
        _depositRemote(address(token), 100e18, 0, B);
        bytes memory message = _payoutMsg(MsgCodec.RELEASE, keccak256("once"), address(token), 30e18, bob);
        // Two packets carrying the same id (engine bug or replay): the second changes nothing.
        _deliver(engineB, message, _payoutOptions());
        _deliver(engineB, message, _payoutOptions());
        _receiveAsEndpoint(B, address(engineB), message, 0);
        assertEq(token.balanceOf(bob), 30e18);
        assertEq(vault.locked(alice, 0, address(token)), 70e18);
        assertEq(vault.credit(B, alice, 0, address(token)), 70e18);
        assertEq(token.balanceOf(address(vault)), 70e18);
    }

    function test_lzReceive_revertsBeyondCredit() public {
        _depositRemote(address(token), 100e18, 0, B);
        bytes memory message = _payoutMsg(MsgCodec.RELEASE, keccak256("x"), address(token), 101e18, bob);
        vm.expectRevert(abi.encodeWithSelector(ICollateralVault.InsufficientCredit.selector, B, 100e18, 101e18));
        _receiveAsEndpoint(B, address(engineB), message, 0);

        // Engine C holds no credit for what was locked for engine B.
        message = _payoutMsg(MsgCodec.SEIZE, keccak256("y"), address(token), 1, bob);
        vm.expectRevert(abi.encodeWithSelector(ICollateralVault.InsufficientCredit.selector, C, 0, 1));
        _receiveAsEndpoint(C, address(engineC), message, 0);
        assertFalse(vault.processed(keccak256("x")));
    }

    function test_lzReceive_revertsOnZeroPayout() public {
        _depositRemote(address(token), 100e18, 0, B);
        vm.expectRevert(ICollateralVault.ZeroAmount.selector);
        _receiveAsEndpoint(B, address(engineB), _payoutMsg(MsgCodec.RELEASE, keccak256("z"), address(token), 0, bob), 0);
        vm.expectRevert(ICollateralVault.ZeroAddress.selector);
        _receiveAsEndpoint(
            B, address(engineB), _payoutMsg(MsgCodec.RELEASE, keccak256("z"), address(token), 1, address(0)), 0
        );
    }

    // ------------------------------------------------------------------ governor

    function test_lzReceive_queuesAboveOutflowCapacity() public {
        _depositRemote(address(token), 5_000e18, 0, B);
        bytes32 id = keccak256("big");
        vm.recordLogs();
        _deliver(engineB, _payoutMsg(MsgCodec.RELEASE, id, address(token), 1_500e18, bob), _payoutOptions());
        Vm.Log memory log = _vaultLog(ICollateralVault.PayoutQueued.selector);
        assertEq(log.topics[1], id);
        assertEq(log.topics[2], bytes32(uint256(uint160(address(token)))));
        assertEq(log.topics[3], bytes32(uint256(uint160(bob))));
        assertEq(log.data, abi.encode(1_500e18));

        assertEq(token.balanceOf(bob), 0);
        assertEq(vault.locked(alice, 0, address(token)), 3_500e18);
        assertEq(vault.totalQueued(address(token)), 1_500e18);
        assertEq(vault.queuedPayout(id).amount, 1_500e18);
        assertEq(vault.queuedPayout(id).kind, MsgCodec.RELEASE);
        assertTrue(vault.processed(id));
        _assertSolvent(address(token));

        // Capacity 1000 per day: still too much now.
        vm.expectRevert(abi.encodeWithSelector(ICollateralVault.OutflowLimited.selector, id, 1_000e18, 1_500e18));
        vault.executeQueued(id);
        _assertCreditSum(alice, 0, address(token));
    }

    function test_executeQueued_paysWhenCapacityAllows() public {
        _depositRemote(address(token), 5_000e18, 0, B);
        _deliver(engineB, _payoutMsg(MsgCodec.RELEASE, keccak256("a"), address(token), 800e18, bob), _payoutOptions());
        bytes32 id = keccak256("b");
        _deliver(engineB, _payoutMsg(MsgCodec.RELEASE, id, address(token), 800e18, bob), _payoutOptions());
        assertEq(token.balanceOf(bob), 800e18);
        assertEq(vault.totalQueued(address(token)), 800e18);

        vm.warp(block.timestamp + WINDOW);
        vm.expectEmit(address(vault));
        emit ICollateralVault.QueuedPayoutExecuted(id, false);
        vm.prank(stranger);
        vault.executeQueued(id);
        assertEq(token.balanceOf(bob), 1_600e18);
        assertEq(vault.totalQueued(address(token)), 0);
        assertEq(vault.queuedPayout(id).recipient, address(0));

        vm.expectRevert(abi.encodeWithSelector(ICollateralVault.NoQueuedPayout.selector, id));
        vault.executeQueued(id);
    }

    function test_clearQueued_guardianPaysAheadOfWindow() public {
        _depositRemote(address(token), 5_000e18, 0, B);
        bytes32 id = keccak256("big");
        _deliver(engineB, _payoutMsg(MsgCodec.SEIZE, id, address(token), 2_000e18, stranger), _payoutOptions());

        vm.prank(stranger);
        vm.expectRevert(abi.encodeWithSelector(XmarginOApp.OnlyGuardian.selector, stranger));
        vault.clearQueued(id);

        vm.expectEmit(address(vault));
        emit ICollateralVault.QueuedPayoutExecuted(id, true);
        vm.prank(guardian);
        vault.clearQueued(id);
        assertEq(token.balanceOf(stranger), 2_000e18);
        assertEq(vault.totalQueued(address(token)), 0);

        vm.prank(guardian);
        vm.expectRevert(abi.encodeWithSelector(ICollateralVault.NoQueuedPayout.selector, id));
        vault.clearQueued(id);
    }

    function test_lzReceive_nativeToRejectingRecipientQueues() public {
        _depositRemote(NATIVE, 5 ether, 0, B);
        VaultRejectingReceiver receiver = new VaultRejectingReceiver();
        bytes32 id = keccak256("native");
        _deliver(engineB, _payoutMsg(MsgCodec.RELEASE, id, NATIVE, 1 ether, address(receiver)), _payoutOptions());
        assertEq(address(receiver).balance, 0);
        assertEq(vault.totalQueued(NATIVE), 1 ether);
        assertEq(vault.locked(alice, 0, NATIVE), 4 ether);
        _assertSolvent(NATIVE);

        vm.expectRevert(
            abi.encodeWithSelector(ICollateralVault.NativeTransferFailed.selector, address(receiver), 1 ether)
        );
        vault.executeQueued(id);

        receiver.setAccept(true);
        vault.executeQueued(id);
        assertEq(address(receiver).balance, 1 ether);
        assertEq(vault.totalQueued(NATIVE), 0);
        _assertSolvent(NATIVE);
    }

    function test_lzReceive_reentrantTokenCannotReenterOnPayout() public {
        _depositRemote(address(reent), 100e18, 0, B);
        bytes32 queuedId = keccak256("q");
        reent.arm(address(vault), abi.encodeCall(vault.executeQueued, (queuedId)));
        _deliver(engineB, _payoutMsg(MsgCodec.RELEASE, keccak256("r"), address(reent), 10e18, bob), _payoutOptions());
        assertEq(reent.balanceOf(bob), 10e18);
        assertFalse(reent.attackSucceeded());
        assertEq(bytes4(reent.attackRevertData()), ReentrancyGuard.ReentrancyGuardReentrantCall.selector);
    }

    // ------------------------------------------------------------------ lzReceive: MOVE

    function test_lzReceive_moveToRemoteEngineSendsLock() public {
        _depositRemote(address(token), 100e18, 0, B);
        uint256 hopFee = _hopFee(C);
        bytes32 moveId = keccak256("move");
        bytes memory message = MsgCodec.encodeMove(MsgCodec.Move(moveId, alice, 0, address(token), 40e18, C));
        vm.recordLogs();
        _deliver(engineB, message, _moveOptions(hopFee));
        Vm.Log memory log = _vaultLog(ICollateralVault.CreditMoved.selector);
        assertEq(log.topics[1], moveId);
        assertEq(log.data, abi.encode(address(token), 40e18, B, C));

        assertEq(vault.credit(B, alice, 0, address(token)), 60e18);
        assertEq(vault.credit(C, alice, 0, address(token)), 40e18);
        assertEq(vault.locked(alice, 0, address(token)), 100e18);
        assertTrue(vault.processed(moveId));
        _assertCreditSum(alice, 0, address(token));

        verifyPackets(C, addressToBytes32(address(engineC)));
        assertEq(engineC.lockCount(), 1);
        assertEq(engineC.lastLock().amount, 40e18);
        assertEq(engineC.lastLock().account, alice);

        // Replay of the MOVE changes nothing.
        _receiveAsEndpoint(B, address(engineB), message, hopFee);
        assertEq(vault.credit(C, alice, 0, address(token)), 40e18);
    }

    function test_lzReceive_moveWithoutFeeLeavesPendingLock() public {
        _depositRemote(address(token), 100e18, 0, B);
        bytes memory message = MsgCodec.encodeMove(MsgCodec.Move(keccak256("m"), alice, 0, address(token), 25e18, C));
        vm.recordLogs();
        _deliver(engineB, message, _moveOptions(0));
        bytes32 lockId = _pendingLockIdFromLogs();

        assertEq(vault.credit(C, alice, 0, address(token)), 25e18);
        assertEq(vault.pendingLock(lockId).engineEid, C);
        assertEq(vault.pendingLock(lockId).lock.amount, 25e18);
        assertEq(engineC.lockCount(), 0);

        uint256 hopFee = _hopFee(C);
        vm.prank(stranger);
        vm.expectPartialRevert(LZ_INSUFFICIENT_FEE);
        vault.flushLock(lockId, "");

        vm.deal(stranger, 1 ether);
        vm.expectEmit(address(vault));
        emit ICollateralVault.LockFlushed(lockId, C);
        vm.prank(stranger);
        vault.flushLock{value: hopFee}(lockId, "");
        verifyPackets(C, addressToBytes32(address(engineC)));
        assertTrue(engineC.lockSeen(lockId));
        assertEq(engineC.lastLock().amount, 25e18);

        vm.expectRevert(abi.encodeWithSelector(ICollateralVault.NoPendingLock.selector, lockId));
        vault.flushLock(lockId, "");
    }

    /// The hop fee is there but the delivery's gas is not enough for the send: the vault kept PENDING_LOCK_GAS
    /// back, so the send fails alone and the LOCK waits, fee included, instead of the MOVE's delivery reverting.
    function test_lzReceive_moveWithGasTooShortForTheSendLeavesPendingLock() public {
        _depositRemote(address(token), 100e18, 0, B);
        uint256 hopFee = _hopFee(C);
        bytes memory message = MsgCodec.encodeMove(MsgCodec.Move(keccak256("g"), alice, 0, address(token), 5e18, C));
        bytes memory options = OptionsBuilder.newOptions().addExecutorLzReceiveOption(300_000, uint128(hopFee));
        uint256 balanceBefore = address(vault).balance;
        vm.recordLogs();
        _deliver(engineB, message, options);
        bytes32 lockId = _pendingLockIdFromLogs();

        assertEq(vault.pendingLock(lockId).lock.amount, 5e18);
        assertEq(vault.credit(C, alice, 0, address(token)), 5e18, "the MOVE itself applied");
        assertEq(address(vault).balance, balanceBefore + hopFee, "the hop fee stays for the flush");
        assertEq(engineC.lockCount(), 0);
    }

    function test_lzReceive_moveToUnknownEngineLeavesPendingLock() public {
        _depositRemote(address(token), 100e18, 0, B);
        bytes memory message = MsgCodec.encodeMove(MsgCodec.Move(keccak256("m"), alice, 0, address(token), 25e18, 77));
        vm.recordLogs();
        _receiveAsEndpoint(B, address(engineB), message, 1 ether);
        bytes32 lockId = _pendingLockIdFromLogs();
        assertEq(vault.pendingLock(lockId).engineEid, 77);
        assertEq(vault.credit(77, alice, 0, address(token)), 25e18);
    }

    function test_lzReceive_moveToLocalEngineCredits() public {
        _depositRemote(address(token), 100e18, 0, B);
        bytes memory message = MsgCodec.encodeMove(MsgCodec.Move(keccak256("m"), alice, 0, address(token), 30e18, A));
        _deliver(engineB, message, _moveOptions(0));
        assertEq(localEngine.lockCount(), 1);
        assertEq(localEngine.lastLock().amount, 30e18);
        assertEq(vault.credit(A, alice, 0, address(token)), 30e18);
        _assertCreditSum(alice, 0, address(token));
    }

    function test_lzReceive_moveToRefusingLocalEngineLeavesPendingLock() public {
        _depositRemote(address(token), 100e18, 0, B);
        localEngine.setRefuse(true);
        bytes memory message = MsgCodec.encodeMove(MsgCodec.Move(keccak256("m"), alice, 0, address(token), 30e18, A));
        vm.recordLogs();
        _deliver(engineB, message, _moveOptions(0));
        bytes32 lockId = _pendingLockIdFromLogs();
        assertEq(localEngine.lockCount(), 0);

        vm.expectRevert(LocalEngineStub.Refused.selector);
        vault.flushLock(lockId, "");

        localEngine.setRefuse(false);
        vm.expectRevert(abi.encodeWithSelector(ICollateralVault.WrongNativeAmount.selector, 1, 0));
        vault.flushLock{value: 1}(lockId, "");
        vault.flushLock(lockId, "");
        assertEq(localEngine.lockCount(), 1);
        assertEq(localEngine.lastLock().id, lockId);
    }

    function test_lzReceive_moveBeyondCreditReverts() public {
        _depositRemote(address(token), 100e18, 0, B);
        bytes memory message = MsgCodec.encodeMove(MsgCodec.Move(keccak256("m"), alice, 0, address(token), 101e18, C));
        vm.expectRevert(abi.encodeWithSelector(ICollateralVault.InsufficientCredit.selector, B, 100e18, 101e18));
        _receiveAsEndpoint(B, address(engineB), message, 0);
        message = MsgCodec.encodeMove(MsgCodec.Move(keccak256("m"), alice, 0, address(token), 0, C));
        vm.expectRevert(ICollateralVault.ZeroAmount.selector);
        _receiveAsEndpoint(B, address(engineB), message, 0);
    }

    /// @dev A MOVE to this chain's engine reaching a vault that has none leaves the LOCK pending; flushing it
    ///      says which engine is missing instead of calling address(0).
    function test_flushLock_localWithoutEngineReverts() public {
        CollateralVault bare = new CollateralVault(endpoints[A], address(this));
        bare.setPeer(B, addressToBytes32(address(engineB)));
        bare.setAssetConfig(address(token), _config(true, CAP));
        vm.startPrank(alice);
        token.approve(address(bare), type(uint256).max);
        bare.deposit{value: bare.quoteDeposit(address(token), 100e18, 0, B, gasOptions).nativeFee}(
            address(token), 100e18, 0, B, gasOptions
        );
        vm.stopPrank();

        bytes memory move = MsgCodec.encodeMove(MsgCodec.Move(keccak256("m"), alice, 0, address(token), 30e18, A));
        vm.recordLogs();
        vm.prank(endpoints[A]);
        bare.lzReceive(Origin(B, addressToBytes32(address(engineB)), 1), bytes32(uint256(1)), move, address(0), "");
        Vm.Log[] memory logs = vm.getRecordedLogs();
        bytes32 lockId;
        for (uint256 i; i < logs.length; i++) {
            if (logs[i].emitter == address(bare) && logs[i].topics[0] == ICollateralVault.LockPending.selector) {
                lockId = logs[i].topics[1];
            }
        }
        assertEq(bare.pendingLock(lockId).engineEid, A);
        assertEq(bare.credit(A, alice, 0, address(token)), 30e18);

        vm.expectRevert(abi.encodeWithSelector(ICollateralVault.NoEngineAt.selector, A));
        bare.flushLock(lockId, "");
    }

    function test_flushLock_revertsWhenUnknown() public {
        vm.expectRevert(abi.encodeWithSelector(ICollateralVault.NoPendingLock.selector, bytes32(uint256(1))));
        vault.flushLock(bytes32(uint256(1)), "");
    }

    function _pendingLockIdFromLogs() internal returns (bytes32) {
        return _vaultLog(ICollateralVault.LockPending.selector).topics[1];
    }

    /// @dev The first log of the vault with `topic0` among those recorded since vm.recordLogs().
    function _vaultLog(bytes32 topic0) internal returns (Vm.Log memory) {
        Vm.Log[] memory logs = vm.getRecordedLogs();
        for (uint256 i; i < logs.length; i++) {
            if (logs[i].emitter == address(vault) && logs[i].topics[0] == topic0) return logs[i];
        }
        revert("vault log not found");
    }

    // ------------------------------------------------------------------ local engine

    function test_payoutFromLocalEngine_pays() public {
        vm.prank(alice);
        vault.deposit(address(token), 100e18, 0, A, "");
        bytes32 id = keccak256("local");
        vm.expectEmit(address(vault));
        emit ICollateralVault.PaidOut(id, MsgCodec.SEIZE, alice, 0, address(token), 60e18, stranger, A);
        localEngine.payout(MsgCodec.SEIZE, MsgCodec.Payout(id, alice, 0, address(token), 60e18, stranger));
        assertEq(token.balanceOf(stranger), 60e18);
        assertEq(vault.credit(A, alice, 0, address(token)), 40e18);

        // Local payouts are direct calls: no replay record, and whatever the local engine asks stays bounded by
        // its credit.
        assertFalse(vault.processed(id));
        vm.expectRevert(abi.encodeWithSelector(ICollateralVault.InsufficientCredit.selector, A, 40e18, 60e18));
        localEngine.payout(MsgCodec.SEIZE, MsgCodec.Payout(id, alice, 0, address(token), 60e18, stranger));
        assertEq(token.balanceOf(stranger), 60e18);
        assertEq(vault.locked(alice, 0, address(token)), 40e18);
    }

    function test_payoutFromLocalEngine_revertsBeyondCredit() public {
        _depositRemote(address(token), 100e18, 0, B); // credit is engine B's, not the local one's
        MsgCodec.Payout memory body = MsgCodec.Payout(keccak256("l"), alice, 0, address(token), 1, bob);
        vm.expectRevert(abi.encodeWithSelector(ICollateralVault.InsufficientCredit.selector, A, 0, 1));
        localEngine.payout(MsgCodec.RELEASE, body);
    }

    function test_payoutFromLocalEngine_revertsForOthersAndBadKind() public {
        MsgCodec.Payout memory body = MsgCodec.Payout(keccak256("l"), alice, 0, address(token), 1, bob);
        vm.prank(stranger);
        vm.expectRevert(abi.encodeWithSelector(ICollateralVault.NotLocalEngine.selector, stranger));
        vault.payoutFromLocalEngine(MsgCodec.RELEASE, body);

        vm.expectRevert(abi.encodeWithSelector(ICollateralVault.UnknownMessageType.selector, MsgCodec.MOVE));
        localEngine.payout(MsgCodec.MOVE, body);
    }

    function test_moveFromLocalEngine_sendsLock() public {
        vm.prank(alice);
        vault.deposit(address(token), 100e18, 0, A, "");
        uint256 hopFee = _hopFee(B);
        localEngine.move{value: hopFee}(MsgCodec.Move(keccak256("lm"), alice, 0, address(token), 70e18, B), "");
        verifyPackets(B, addressToBytes32(address(engineB)));
        assertEq(engineB.lockCount(), 1);
        assertEq(engineB.lastLock().amount, 70e18);
        assertEq(vault.credit(A, alice, 0, address(token)), 30e18);
        assertEq(vault.credit(B, alice, 0, address(token)), 70e18);
        _assertCreditSum(alice, 0, address(token));
    }

    function test_moveFromLocalEngine_pendingWhenFeeShort() public {
        vm.prank(alice);
        vault.deposit(address(token), 100e18, 0, A, "");
        vm.recordLogs();
        localEngine.move(MsgCodec.Move(keccak256("lm"), alice, 0, address(token), 70e18, B), "");
        bytes32 lockId = _pendingLockIdFromLogs();
        assertEq(vault.credit(B, alice, 0, address(token)), 70e18);
        vault.flushLock{value: _hopFee(B)}(lockId, "");
        verifyPackets(B, addressToBytes32(address(engineB)));
        assertTrue(engineB.lockSeen(lockId));
    }

    function test_moveFromLocalEngine_revertsForOthers() public {
        vm.prank(stranger);
        vm.expectRevert(abi.encodeWithSelector(ICollateralVault.NotLocalEngine.selector, stranger));
        vault.moveFromLocalEngine(MsgCodec.Move(keccak256("lm"), alice, 0, address(token), 1, B), "");
    }

    // ------------------------------------------------------------------ guardian and owner

    function test_setDepositsPaused_onlyGuardian() public {
        vm.prank(stranger);
        vm.expectRevert(abi.encodeWithSelector(XmarginOApp.OnlyGuardian.selector, stranger));
        vault.setDepositsPaused(true);

        vm.expectEmit(address(vault));
        emit ICollateralVault.DepositsPaused(true);
        vm.prank(guardian);
        vault.setDepositsPaused(true);
        assertTrue(vault.depositsPaused());

        vm.prank(guardian);
        vm.expectRevert(ICollateralVault.NoChange.selector);
        vault.setDepositsPaused(true);
    }

    function test_setGuardian_onlyOwner() public {
        vm.prank(stranger);
        vm.expectRevert(abi.encodeWithSelector(Ownable.OwnableUnauthorizedAccount.selector, stranger));
        vault.setGuardian(stranger);
        assertEq(vault.guardian(), guardian);

        vm.expectEmit(address(vault));
        emit XmarginOApp.GuardianChanged(bob);
        vault.setGuardian(bob);
        assertEq(vault.guardian(), bob);
    }

    function test_setLocalEngine_checks() public {
        vm.prank(stranger);
        vm.expectRevert(abi.encodeWithSelector(Ownable.OwnableUnauthorizedAccount.selector, stranger));
        vault.setLocalEngine(stranger);

        vm.expectRevert(ICollateralVault.ZeroAddress.selector);
        vault.setLocalEngine(address(0));
        vm.expectRevert(ICollateralVault.NoChange.selector);
        vault.setLocalEngine(address(localEngine));

        vm.expectEmit(address(vault));
        emit ICollateralVault.LocalEngineSet(bob);
        vault.setLocalEngine(bob);
        assertEq(vault.localEngine(), bob);
    }

    function test_setAssetConfig_checks() public {
        ICollateralVault.AssetConfig memory config = _config(true, 5e18);
        vm.prank(stranger);
        vm.expectRevert(abi.encodeWithSelector(Ownable.OwnableUnauthorizedAccount.selector, stranger));
        vault.setAssetConfig(address(token), config);

        vm.expectRevert(ICollateralVault.ZeroAddress.selector);
        vault.setAssetConfig(address(0), config);

        vm.expectEmit(address(vault));
        emit ICollateralVault.AssetConfigured(address(token), config);
        vault.setAssetConfig(address(token), config);
        assertEq(vault.assetConfig(address(token)).supplyCap, 5e18);

        vm.expectRevert(ICollateralVault.NoChange.selector);
        vault.setAssetConfig(address(token), config);

        // A smaller outflow capacity clamps what is available now.
        config.outflowCapacity = 10e18;
        vault.setAssetConfig(address(token), config);
        assertEq(vault.outflowAvailable(address(token)), 10e18);
    }

    /// A dev chain can answer an eth_call with the bucket's update already in its state and the previous
    /// block's timestamp: no refill yet, rather than an underflow.
    function test_outflowAvailable_withAClockBehindTheLastUpdate() public {
        ICollateralVault.AssetConfig memory config = _config(true, 5e18);
        config.outflowCapacity = 10e18;
        vault.setAssetConfig(address(token), config);
        uint256 available = vault.outflowAvailable(address(token));
        vm.warp(block.timestamp - 1);
        assertEq(vault.outflowAvailable(address(token)), available);
    }

    function test_transferOwnership_isTwoStep() public {
        vault.transferOwnership(bob);
        assertEq(vault.owner(), address(this));
        assertEq(vault.pendingOwner(), bob);

        vm.prank(stranger);
        vm.expectRevert(abi.encodeWithSelector(Ownable.OwnableUnauthorizedAccount.selector, stranger));
        vault.acceptOwnership();

        vm.prank(bob);
        vault.acceptOwnership();
        assertEq(vault.owner(), bob);
        vm.expectRevert(abi.encodeWithSelector(Ownable.OwnableUnauthorizedAccount.selector, address(this)));
        vault.setLocalEngine(stranger);
    }

    function test_views_native() public view {
        assertEq(vault.NATIVE(), NATIVE);
        assertEq(vault.localEid(), A);
    }

    // ------------------------------------------------------------------ fuzz

    function testFuzz_depositRelease_accounting(uint256 amount, uint256 released, uint96 sub, bool native, bool local)
        public
    {
        address asset = native ? NATIVE : address(token);
        amount = bound(amount, 1, 100_000e18);
        released = bound(released, 1, amount);
        uint32 eid = local ? A : B;

        if (local) {
            vm.prank(alice);
            vault.deposit{value: native ? amount : 0}(asset, amount, sub, A, "");
        } else {
            _depositRemote(asset, amount, sub, B);
        }
        _assertSolvent(asset);

        MsgCodec.Payout memory body = MsgCodec.Payout(keccak256("f"), alice, sub, asset, released, bob);
        if (local) {
            localEngine.payout(MsgCodec.RELEASE, body);
        } else {
            _deliver(engineB, MsgCodec.encodePayout(MsgCodec.RELEASE, body), _payoutOptions());
        }

        assertEq(vault.locked(alice, sub, asset), amount - released);
        assertEq(vault.credit(eid, alice, sub, asset), amount - released);
        _assertCreditSum(alice, sub, asset);
        _assertSolvent(asset);
        uint256 paid = native ? bob.balance : token.balanceOf(bob);
        // Either paid at once or queued by the governor, never both, never lost.
        assertEq(paid + vault.totalQueued(asset), released);
        assertEq(released > OUTFLOW, vault.totalQueued(asset) == released);
    }
}

/// @notice Conservation under random sequences of deposits, payouts, queue executions and moves.
contract CollateralVaultInvariantTest is TestHelperOz5 {
    CollateralVault internal vault;
    MockERC20 internal token;
    VaultHandler internal handler;

    function setUp() public override {
        super.setUp();
        setUpEndpoints(2, LibraryType.UltraLightNode);
        vault = new CollateralVault(endpoints[1], address(this));
        EngineStub remote = new EngineStub(endpoints[2], address(this));
        address[] memory oapps = new address[](2);
        oapps[0] = address(vault);
        oapps[1] = address(remote);
        wireOApps(oapps);

        LocalEngineStub engine = new LocalEngineStub(vault);
        vault.setLocalEngine(address(engine));
        token = new MockERC20("Token", "TKN", 18);
        vault.setAssetConfig(
            address(token),
            ICollateralVault.AssetConfig({
                enabled: true, supplyCap: type(uint256).max, outflowCapacity: 5_000e18, outflowWindow: 1 days
            })
        );
        handler = new VaultHandler(vault, engine, token, 2);
        targetContract(address(handler));
    }

    function invariant_solvency() public view {
        assertGe(token.balanceOf(address(vault)), vault.totalLocked(address(token)) + vault.totalQueued(address(token)));
    }

    function invariant_creditSumsToLocked() public view {
        uint256 sumLocked;
        for (uint256 i; i < handler.actorCount(); i++) {
            address actor = handler.actors(i);
            for (uint96 sub; sub < 2; sub++) {
                uint256 locked = vault.locked(actor, sub, address(token));
                assertEq(
                    vault.credit(1, actor, sub, address(token)) + vault.credit(2, actor, sub, address(token)), locked
                );
                sumLocked += locked;
            }
        }
        assertEq(sumLocked, vault.totalLocked(address(token)));
    }
}
